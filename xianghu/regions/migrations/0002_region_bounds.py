from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("regions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="region",
            name="max_latitude",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                max_digits=9,
                null=True,
                verbose_name="northernmost latitude",
            ),
        ),
        migrations.AddField(
            model_name="region",
            name="max_longitude",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                max_digits=9,
                null=True,
                verbose_name="easternmost longitude",
            ),
        ),
        migrations.AddField(
            model_name="region",
            name="min_latitude",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                max_digits=9,
                null=True,
                verbose_name="southernmost latitude",
            ),
        ),
        migrations.AddField(
            model_name="region",
            name="min_longitude",
            field=models.DecimalField(
                blank=True,
                decimal_places=6,
                max_digits=9,
                null=True,
                verbose_name="westernmost longitude",
            ),
        ),
        migrations.AddConstraint(
            model_name="region",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("max_latitude__isnull", True),
                        ("max_longitude__isnull", True),
                        ("min_latitude__isnull", True),
                        ("min_longitude__isnull", True),
                    ),
                    models.Q(
                        ("max_latitude__isnull", False),
                        ("max_latitude__lte", 90),
                        ("max_longitude__isnull", False),
                        ("max_longitude__lte", 180),
                        ("min_latitude__gte", -90),
                        ("min_latitude__isnull", False),
                        ("min_latitude__lte", models.F("max_latitude")),
                        ("min_longitude__gte", -180),
                        ("min_longitude__isnull", False),
                        ("min_longitude__lte", models.F("max_longitude")),
                    ),
                    _connector="OR",
                ),
                name="region_bounds_all_or_none_in_order",
            ),
        ),
    ]
