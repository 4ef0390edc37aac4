"""What the terminal shows: `vax-cleaning run`'s progress (live on a terminal, plain lines otherwise) and local times."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta, timezone
from typing import IO

VIETNAM = timezone(timedelta(hours=7), "UTC+7")
"""Users read times in Vietnam local time."""


def vietnam_time(moment: datetime | None = None) -> str:
    """`30/11/2026 19:05:01 (UTC+7)`: the way officers read a time."""
    return f"{(moment or datetime.now(UTC)).astimezone(VIETNAM):%d/%m/%Y %H:%M:%S} (UTC+7)"


class RunDisplay:
    """Shows each stage (registry, provinces, national rollup, read-only copy) as it starts and ends.

    On a terminal a spinner (rich) runs while a stage works, written to a duplicate of the terminal's descriptor
    (Dagster redirects fd 1 into its compute logs while a step runs); when stdout is not a terminal (CI logs,
    tests, `> file`) every event is one plain line, so logs stay readable.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = _is_terminal(self.stream)
        self._status: AbstractContextManager | None = None
        self._console = None
        if self.live:
            from rich.console import Console

            terminal = os.fdopen(os.dup(self.stream.fileno()), "w", buffering=1)
            self._console = Console(file=terminal, highlight=False)

    def __call__(self, stage: str, state: str, detail: str) -> None:
        """One event of `runner.Progress`: state is start, ok, failed or skipped."""
        if not self.live:
            text = "started" if state == "start" else f"{state}" + (f": {detail}" if state != "ok" else f" ({detail})")
            print(f"{_clock()} {stage}: {text}", file=self.stream, flush=True)
            return
        self._stop()
        if state == "start":
            self._status = self._console.status(f"{stage} …")
            self._status.__enter__()
            return
        from rich.markup import escape

        mark = {"ok": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]–[/]"}.get(state, " ")
        text = f"ok ({detail})" if state == "ok" else f"{state}: {detail}"
        # stage and detail are free text (paths, error reasons): `[...]` in them is not rich markup
        self._console.print(f"{mark} {_clock()} {escape(stage)}: {escape(text)}", markup=True, soft_wrap=True)

    def close(self) -> None:
        """Stop the spinner (before the summary, or when the run is interrupted) and release the terminal."""
        self._stop()
        if self._console is not None:
            self._console.file.close()
            self._console = None
            self.live = False

    def _stop(self) -> None:
        """End the running spinner, if any."""
        if self._status is not None:
            self._status.__exit__(None, None, None)
            self._status = None


def _is_terminal(stream: IO[str]) -> bool:
    """Whether the stream is an interactive terminal (a pytest capture or a pipe is not)."""
    try:
        return stream.isatty() and stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def _clock() -> str:
    """`19:05:01`: Vietnam local time, as officers read it."""
    return f"{datetime.now(UTC).astimezone(VIETNAM):%H:%M:%S}"
