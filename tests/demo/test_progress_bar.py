"""The province build's progress line (demo_county's ProgressBar)."""

from __future__ import annotations

import io

from django.core.management.base import OutputWrapper
from django.core.management.color import color_style

from xianghu.demo.management.commands.demo_county import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_line_is_rewritten_in_place_and_not_styled_as_an_error():
    out = Terminal()
    stderr = OutputWrapper(out)
    stderr.style_func = color_style(force_color=True).ERROR  # as a command's stderr is
    assert stderr.style_func("x") != "x"  # the wrapper would colour it
    bar = ProgressBar(stderr)
    bar("calls", 0, 10)
    bar("calls", 10, 10)
    bar("events", 5, 5)
    text = out.getvalue()
    assert "\x1b[" not in text
    lines = text.split("\n")
    assert lines[0].startswith("\rcalls")
    assert lines[0].count("\r") == 2  # rewritten in place
    assert "10 / 10" in lines[0]
    assert lines[1].startswith("\revents")


def test_elsewhere_a_line_every_few_seconds():
    out = io.StringIO()
    bar = ProgressBar(OutputWrapper(out))
    bar("calls", 0, 10)
    bar("calls", 3, 10)  # within the interval: not printed
    bar("calls", 10, 10)
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["calls", "calls"]
    assert "\r" not in out.getvalue()
