from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation

from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.county import (
    COUNTY_CODE,
    DEFAULT_SEED,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    PROVINCE_CODE,
    build_demo_county,
)
from xianghu.regions.models import Region
from xianghu.regions.roles import Role


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = (
        "Build the fictional demo county 清河县 (idempotent, deterministic from --seed) "
        "and print the demo logins."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument("--quiet", action="store_true", help="print nothing")

    def handle(self, *args: Any, seed: int, quiet: bool, **opts: Any) -> None:
        summary = build_demo_county(seed=seed)
        lists = build_demo_lists(
            county=Region.objects.get(code=COUNTY_CODE),
            province=Region.objects.get(code=PROVINCE_CODE),
        )
        if quiet:
            return
        self.stdout.write(
            f"清河县 (fictional demo county, seed {summary.seed}): "
            f"{summary.townships} townships, {summary.villages} villages, "
            f"{summary.departments} departments, {summary.stationed_agencies} stationed "
            f"agencies, {summary.partners} partners, {summary.users} users, "
            f"{summary.memberships} memberships."
        )
        self.stdout.write(
            f"清单: {lists.guidance.title} ({lists.guidance.items.count()} items) → "
            f"{lists.county.title} ({lists.county.items.count()} items, in force)."
        )
        with translation.override("zh-hans"):
            rows = [("用户名", "密码", "角色", "单位")] + [
                (a.username, DEMO_PASSWORD, str(Role(a.role).label), a.organisation_name or "—")
                for a in DEMO_ACCOUNTS
            ]
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        for row in rows:
            cells = [_pad(cell, w) for cell, w in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[3]]))
