from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from xianghu.calls.diagram import splice


class Command(BaseCommand):
    help = "Regenerate the state diagram and the transition table in docs/workflow.md."

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.BASE_DIR) / "docs" / "workflow.md"
        path.write_text(splice(path.read_text(encoding="utf-8")), encoding="utf-8")
        self.stdout.write(f"updated {path}")
