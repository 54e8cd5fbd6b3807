"""`manage.py holidays_import`: put a year of the statutory calendar into the holiday table.

    manage.py holidays_import --year 2027 --file notice.csv [--note "国办发明电〔2026〕…号"]
    manage.py holidays_import --year 2025 --from-chinesecalendar

The CSV (`date,kind,name`, kind `holiday` or `workday`) is the State Council's notice typed
in; see docs/workdays.md. Every row is checked first and every problem reported; with any
problem nothing is saved. Otherwise the year's rows are replaced and the year is marked
complete, in one transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.core.models import CalendarSource
from xianghu.core.workdays import (
    PACKAGE_YEARS,
    read_year_csv,
    replace_year,
    seed_from_chinesecalendar,
)


class Command(BaseCommand):
    help = (
        "Import a year of the statutory working calendar from a date,kind,name CSV "
        "(the State Council's notice) or from the chinesecalendar package, replacing the "
        "year's rows and marking the year complete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, required=True, help="the calendar year")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--file", type=Path, help="CSV file with date,kind,name rows")
        source.add_argument(
            "--from-chinesecalendar",
            action="store_true",
            help=f"take the year from the chinesecalendar package ({PACKAGE_YEARS[0]}–"
            f"{PACKAGE_YEARS[-1]} in 1.11)",
        )
        parser.add_argument("--note", default="", help="e.g. the notice's document number")

    def handle(
        self,
        *args: Any,
        year: int,
        file: Path | None,
        from_chinesecalendar: bool,
        note: str,
        **options: Any,
    ) -> None:
        if not 1949 <= year <= 2200:
            raise CommandError(_("%(year)s is not a plausible calendar year.") % {"year": year})
        if from_chinesecalendar:
            try:
                written = seed_from_chinesecalendar([year])
            except NotImplementedError as exc:
                raise CommandError(
                    _("The chinesecalendar package does not know %(year)s (%(error)s).")
                    % {"year": year, "error": exc}
                ) from exc
            self.stdout.write(
                _("%(year)s: %(count)s rows written from chinesecalendar; the year is complete.")
                % {"year": year, "count": written}
            )
            return

        assert file is not None  # argparse: one of the two sources is required
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc}
            ) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(
                _("%(file)s is not UTF-8 text: save the CSV as UTF-8.") % {"file": file}
            ) from exc
        parsed = read_year_csv(text, year=year)
        for line in parsed.skipped:
            self.stdout.write(line)
        if parsed.problems:
            raise CommandError(
                "\n".join(
                    [
                        _("%(file)s has %(count)s problem(s); nothing was saved:")
                        % {"file": file, "count": len(parsed.problems)},
                        *parsed.problems,
                    ]
                )
            )
        written = replace_year(
            year,
            parsed.rows,
            row_source=CalendarSource.IMPORT,
            year_source=CalendarSource.NOTICE,
            note=note or file.name,
        )
        days_off = sum(1 for row in parsed.rows if row.kind == "holiday")
        self.stdout.write(
            _(
                "%(year)s: %(count)s rows written (%(off)s weekday holidays, %(work)s "
                "weekend working days); the year is complete."
            )
            % {"year": year, "count": written, "off": days_off, "work": written - days_off}
        )
