from __future__ import annotations

import functools
import time
import unicodedata
from collections.abc import Callable
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils import translation

from xianghu.demo.assessment import build_demo_forms
from xianghu.demo.catalog import build_demo_lists
from xianghu.demo.coord import build_demo_coord
from xianghu.demo.county import (
    COUNTY_CODE,
    DEFAULT_SEED,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    PROVINCE_CODE,
    build_demo_county,
)
from xianghu.demo.history import DEFAULT_MONTHS, MAX_MONTHS, build_demo_history
from xianghu.demo.notice import build_demo_notice
from xianghu.demo.open import build_demo_open
from xianghu.demo.peers import PEERS, build_demo_peers
from xianghu.demo.province import COUNTIES, ProvinceSummary, build_province
from xianghu.demo.public import build_demo_public
from xianghu.demo.routing import build_demo_routing
from xianghu.regions.models import Region
from xianghu.regions.roles import Role


def _width(text: str) -> int:
    """Display width in a terminal: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class ProgressBar:
    """One line on stderr per stage: a bar, the count, the rate and the time to go;
    rewritten in place on a terminal, else printed every few seconds."""

    def __init__(self, stream: TextIO | OutputWrapper) -> None:
        self.stream = stream
        # A command's OutputWrapper ends every write with a newline unless told not to,
        # and styles its stderr as an error on a terminal: progress is not an error.
        self._write: Callable[[str], Any] = (
            functools.partial(stream.write, ending="", style_func=str)
            if isinstance(stream, OutputWrapper)
            else stream.write
        )
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.stage = ""
        self.started = self.last = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            if self.stage and self.tty:
                self._write("\n")
            self.stage, self.started, self.last = stage, now, 0.0
        finished = done >= total
        if not finished and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f"{(total - done) / rate:,.0f} s to go" if rate and not finished else ""
        line = (
            f"{stage:<9} [{bar:<30}] {done:>12,} / {total:,}  {share:6.1%}  "
            f"{rate:,.0f}/s  {elapsed:,.0f} s  {left}"
        )
        self._write(("\r" + line) if self.tty else (line + "\n"))
        if finished and self.tty:
            self._write("\n")
            self.stage = ""
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Build the fictional demo county 清河县 with a few months of call history "
        "(idempotent, deterministic from --seed) and print the demo logins."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
        parser.add_argument("--quiet", action="store_true", help="print nothing")
        parser.add_argument(
            "--no-history", action="store_true", help="build no call history (docs/demo.md)"
        )
        parser.add_argument(
            "--history-months",
            type=int,
            default=DEFAULT_MONTHS,
            choices=range(1, MAX_MONTHS + 1),
            metavar=f"1..{MAX_MONTHS}",
            help=f"months of call history, ending now (default {DEFAULT_MONTHS})",
        )
        parser.add_argument(
            "--counties",
            type=int,
            default=1,
            choices=(1, 1 + len(PEERS)),
            help=(
                "1: the demo county alone (default); "
                f"{1 + len(PEERS)}: the multi-county demo, three counties in two cities "
                "with province and city users for /oversight/ (docs/demo.md)"
            ),
        )
        parser.add_argument(
            "--scale",
            choices=("county", "province"),
            default="county",
            help=(
                "province: also a province of 16 cities, ~136 counties and ~1,800 townships "
                "with --calls calls and --tickets 12345 tickets over the last year, "
                "written in bulk (COPY on PostgreSQL; docs/demo.md)"
            ),
        )
        parser.add_argument(
            "--calls",
            type=int,
            default=1_000_000,
            help="with --scale province: calls in the generated counties (default 1,000,000)",
        )
        parser.add_argument(
            "--tickets",
            type=int,
            default=1_000_000,
            help="with --scale province: 12345 tickets (default 1,000,000)",
        )
        parser.add_argument(
            "--no-events",
            action="store_true",
            help=(
                "with --scale province: the calls and their dispatches only, without "
                "events, photos or roll-up (a faster load for the lists' load tests)"
            ),
        )
        parser.add_argument(
            "--province-counties",
            type=int,
            default=COUNTIES,
            help=f"with --scale province: counties with 清河县 (default {COUNTIES})",
        )

    def handle(
        self,
        *args: Any,
        seed: int,
        quiet: bool,
        no_history: bool,
        history_months: int,
        counties: int = 1,
        scale: str = "county",
        calls: int = 1_000_000,
        tickets: int = 1_000_000,
        province_counties: int = COUNTIES,
        no_events: bool = False,
        **opts: Any,
    ) -> None:
        for name, value in (("--calls", calls), ("--tickets", tickets)):
            if value < 0:
                raise CommandError(f"{name} must be 0 or more.")
        if province_counties < 2:
            raise CommandError("--province-counties must be at least 2.")
        summary = build_demo_county(seed=seed)
        county = Region.objects.get(code=COUNTY_CODE)
        lists = build_demo_lists(county=county, province=Region.objects.get(code=PROVINCE_CODE))
        model = build_demo_routing(county=county)
        # Built once: a county that has its history keeps it (a rerun skips it quickly).
        history = (
            None
            if no_history
            else build_demo_history(county=county, months=history_months, seed=seed)
        )
        # The townships' evaluation forms for the history's past months (built once too).
        forms = build_demo_forms(county=county, seed=seed) if history is not None else None
        notice = build_demo_notice(county=county) if history is not None else None
        # Co-governance: public reports, open government data and consultations,
        # stakeholders with needs, offers and deliveries.
        # Public reports (one becomes a call), closed cases and consultations are calls:
        # none without the history (the routing benchmark builds the county without calls).
        public = build_demo_public(county=county) if history is not None else None
        opened = build_demo_open(county=county) if history is not None else None
        coord = build_demo_coord(county=county)
        # The multi-county demo: the peers get a smaller history (half the months).
        peers = (
            build_demo_peers(seed=seed, months=None if no_history else max(1, history_months // 2))
            if counties > 1
            else None
        )
        province = (
            build_province(
                seed=seed,
                counties=province_counties,
                calls=calls,
                tickets=tickets,
                events=not no_events,
                progress=None if quiet else ProgressBar(self.stderr),
            )
            if scale == "province"
            else None
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
        self.stdout.write(f"智能分拨: routing model v{model.version} ({model.examples} examples).")
        if history is not None:
            self.stdout.write(
                f"呼叫历史: {history.calls} calls ({history.open} open, {history.overdue} "
                f"overdue, {history.closed} closed), {history.events} events, "
                f"{history.start:%Y-%m-%d} – {history.until:%Y-%m-%d}"
                + (" (built before)." if history.skipped else ".")
            )
            for problem in history.problems:
                self.stderr.write(f"  history step refused: {problem}")
        if forms is not None:
            self.stdout.write(
                f"考核表: {forms.forms} township evaluation forms"
                + (f" ({forms.months[0]} – {forms.months[-1]})" if forms.months else "")
                + (" (built before)." if forms.skipped else ".")
            )
        if notice is not None:
            self.stdout.write(
                f"通报: {notice.title} ({notice.entries.count()} named, {notice.status})."
            )
        self.stdout.write(
            "多元共治: "
            + (f"{public.reports} public reports, " if public is not None else "")
            + (
                f"{opened.cases} open cases, {opened.consultations} consultations, "
                if opened is not None
                else ""
            )
            + f"{coord.profiles} stakeholders, "
            f"{coord.needs} needs, {coord.offers} offers, {coord.commitments} commitments."
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
        if peers is not None:
            self._peers(peers)
        if province is not None:
            self._province(province)

    def _province(self, province: ProvinceSummary) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"全省演示: {province.cities} cities, {province.counties} counties, "
            f"{province.townships} townships, {province.departments} departments, "
            f"{province.stationed_agencies} stationed agencies."
        )
        for label, report in (("calls", province.calls), ("tickets", province.tickets)):
            if report.total_rows:
                rows = ", ".join(f"{n:,} {name}" for name, n in report.rows.items())
                self.stdout.write(f"  bulk {label}: {report.total_rows:,} rows ({rows}).")
            else:
                self.stdout.write(f"  bulk {label}: none new (built before, or 0 asked).")

    def _peers(self, peers: Any) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"多县演示: {'、'.join(peers.counties)} beside 清河县; oversight at /oversight/."
        )
        for name, history in peers.histories:
            self.stdout.write(
                f"  {name} 呼叫历史: {history.calls} calls ({history.open} open, "
                f"{history.overdue} overdue, {history.closed} closed)"
                + (" (built before)." if history.skipped else ".")
            )
            for problem in history.problems:
                self.stderr.write(f"  history step refused: {problem}")
        with translation.override("zh-hans"):
            rows = [("用户名", "密码", "角色", "单位")] + [
                (login.username, DEMO_PASSWORD, str(Role(login.role).label), login.organisation)
                for login in peers.logins
            ]
        widths = [max(_width(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        for row in rows:
            cells = [_pad(cell, w) for cell, w in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[3]]))
