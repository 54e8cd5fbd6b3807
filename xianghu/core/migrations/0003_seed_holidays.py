"""Seed the holiday table with the years the `chinesecalendar` package knows (2004–2026)."""

from django.db import migrations


def seed(apps, schema_editor):
    from xianghu.core.workdays import PACKAGE_YEARS, seed_from_chinesecalendar

    seed_from_chinesecalendar(
        PACKAGE_YEARS,
        holiday_model=apps.get_model("core", "Holiday"),
        year_model=apps.get_model("core", "CalendarYear"),
    )


def unseed(apps, schema_editor):
    from xianghu.core.workdays import PACKAGE_YEARS, unseed_chinesecalendar

    unseed_chinesecalendar(
        PACKAGE_YEARS,
        holiday_model=apps.get_model("core", "Holiday"),
        year_model=apps.get_model("core", "CalendarYear"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_holidays"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
