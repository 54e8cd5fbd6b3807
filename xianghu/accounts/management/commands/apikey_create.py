from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from xianghu.core.errors import DomainError
from xianghu.regions.models import Organisation

from ...services import apikey_create


class Command(BaseCommand):
    help = "Create an API key for an organisation; the key is printed once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organisation", required=True, help="organisation id or exact name")
        parser.add_argument("--role", required=True)
        parser.add_argument("--name", required=True, help="what the key is for")
        parser.add_argument(
            "--scopes",
            default="",
            help="comma-separated scopes such as calls:read,open311:post (default: all)",
        )

    def handle(
        self, *args: Any, organisation: str, role: str, name: str, scopes: str, **opts: Any
    ) -> None:
        lookup = {"pk": organisation} if organisation.isdigit() else {"name": organisation}
        orgs = list(Organisation.objects.filter(**lookup)[:2])
        if len(orgs) != 1:
            raise CommandError(f"organisation {organisation!r}: {len(orgs)} matches, need 1")
        try:
            wanted = [s.strip() for s in scopes.split(",") if s.strip()] if scopes else None
            _key, plain = apikey_create(
                actor=None, organisation=orgs[0], role=role, name=name, scopes=wanted
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(plain)
