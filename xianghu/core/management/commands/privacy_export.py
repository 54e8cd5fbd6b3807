"""`manage.py privacy_export (--phone P | --email E | --user ID|USERNAME)... --reason R
[--output FILE.json] [--xlsx FILE.xlsx]`: everything held about one person, for their
request to access and copy it (PIPL art. 45; docs/privacy.md).

The identifiers are widened through the person's account (a phone finds the account,
whose e-mail and id find the rest). The export is unmasked — it is the person's own
data — so hand it only to them; every export is logged on "xianghu.security"."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from xianghu.core.privacy.registry import Subject
from xianghu.core.privacy.services import export_sheets, personal_data_export
from xianghu.core.xlsx import render_xlsx


class Command(BaseCommand):
    help = (
        "Export everything held about one person (by phone, e-mail or user) as JSON and "
        "optionally Excel, for their request under PIPL art. 45. Logged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phone", action="append", default=[], help="a phone number")
        parser.add_argument("--email", action="append", default=[], help="an e-mail address")
        parser.add_argument("--user", action="append", default=[], help="a user's id or username")
        parser.add_argument(
            "--reason", required=True, help="the request this answers (who asked, when)"
        )
        parser.add_argument("--output", help="write the JSON here (default: standard output)")
        parser.add_argument("--xlsx", help="also write an Excel workbook here")

    def _user_ids(self, values: list[str]) -> list[int]:
        users = get_user_model()._default_manager
        ids = []
        for value in values:
            lookup: dict[str, Any] = {"pk": int(value)} if value.isdigit() else {"username": value}
            pk = users.filter(**lookup).values_list("pk", flat=True).first()
            if pk is None:
                raise CommandError(_("No user %(user)s.") % {"user": value})
            ids.append(pk)
        return ids

    def handle(self, *args: Any, **options: Any) -> None:
        reason = (options["reason"] or "").strip()
        if len(reason) < 2:
            raise CommandError(_("Say which request this export answers (--reason)."))
        subject = Subject.of(
            phones=options["phone"],
            emails=options["email"],
            user_ids=self._user_ids(options["user"]),
        )
        if not subject:
            raise CommandError(_("Name the person: --phone, --email or --user."))
        try:
            requested_by = getpass.getuser()
        except Exception:  # no login name in some containers
            requested_by = ""
        export = personal_data_export(subject=subject, reason=reason, requested_by=requested_by)
        text = json.dumps(export, ensure_ascii=False, indent=2)
        if options.get("output"):
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
        else:
            self.stdout.write(text)
        if options.get("xlsx"):
            Path(options["xlsx"]).write_bytes(render_xlsx(export_sheets(export)))
        rows = sum(len(section["rows"]) for section in export["kinds"].values())
        self.stderr.write(_("%(n)s rows about the person exported.") % {"n": rows})
