"""Progress on stderr for a person at a terminal: what runs now and how far it is (rich).

The core reports through ``task()`` (``with task("reading live state", total=3000) as t: t.advance()``);
it costs nothing when no reporter is active. The CLI activates one with ``reporting(enabled)`` only
when stderr is a terminal and ``--quiet`` was not given, so machine output (stdout JSON, markdown,
redirected logs) never carries progress. A display is live only while a task runs: between tasks
(the plan on stdout, a confirmation prompt) the terminal is the program's own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

_active: Reporter | None = None


class Task:
    """One line of progress; a no-op when nothing is displayed."""

    def __init__(self, reporter: Reporter | None = None, task_id: Any = None) -> None:
        self._reporter = reporter
        self._id = task_id

    @property
    def shown(self) -> bool:
        """Whether this task is on a display (else every update is a no-op)."""
        return self._reporter is not None

    def advance(self, n: int = 1) -> None:
        if self._reporter is not None:
            self._reporter.progress.advance(self._id, n)

    def update(
        self, completed: int | None = None, total: int | None = None, description: str | None = None
    ) -> None:
        if self._reporter is not None:
            self._reporter.progress.update(
                self._id, completed=completed, total=total, description=description
            )


class Reporter:
    """A rich progress display on ``stream``, live while at least one task runs."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=stream, force_terminal=True, stderr=stream is sys.stderr)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.running = 0

    @contextmanager
    def task(self, description: str, total: int | None) -> Iterator[Task]:
        if self.running == 0:
            self.progress.start()
        self.running += 1
        task_id = self.progress.add_task(description, total=total)
        try:
            yield Task(self, task_id)
        finally:
            self.progress.remove_task(task_id)
            self.running -= 1
            if self.running == 0:
                self.progress.stop()

    def print(self, line: str) -> None:
        """A line above the live display (or plainly, when none is live)."""
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def task(description: str, total: int | None = None) -> Iterator[Task]:
    """A progress line for the duration of the block (nothing when no reporter is active)."""
    if _active is None:
        yield Task()
        return
    with _active.task(description, total) as t:
        yield t


def live() -> Reporter | None:
    """The active reporter while a task is displayed (to print lines above it), else None."""
    return _active if _active is not None and _active.running else None


@contextmanager
def reporting(enabled: bool, stream: IO[str] | None = None) -> Iterator[None]:
    """Show progress on ``stream`` (stderr) for the duration of the block, if ``enabled``."""
    global _active
    if not enabled:
        yield
        return
    previous, _active = _active, Reporter(stream or sys.stderr)
    try:
        yield
    finally:
        if _active.running:
            _active.progress.stop()
        _active = previous


def wanted(quiet: bool, stream: IO[str] | None = None) -> bool:
    """Progress is for a person at a terminal: stderr a TTY, and not ``--quiet``."""
    stream = stream or sys.stderr
    return not quiet and stream.isatty()
