"""The confirmation prompt of ``apply`` and ``push``: a Ctrl-C there stops the command at once.

The prompt is asked inside the command's event loop, whose Ctrl-C handling (asyncio's, or ours
while steps run) only takes effect once the loop runs again: a blocking read of the answer would
keep waiting for Enter. While the prompt is shown, Ctrl-C raises at once instead.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from reconciler.errors import Interrupted


def ask(question: str) -> bool:
    """``click.confirm(question)`` (default no); ``Interrupted`` at once on Ctrl-C, "no" on end of
    input."""
    pressed: list[bool] = []

    def on_sigint(signum: int, frame: Any) -> None:
        pressed.append(True)
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if main else None
    try:
        return click.confirm(question, default=False)
    except click.Abort:  # Ctrl-C or end of input
        if pressed:
            raise Interrupted(
                "at the confirmation prompt, before any change was sent (nothing was sent to the API)",
                hint="run the same command again",
            ) from None
        return False
    finally:
        if main:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
