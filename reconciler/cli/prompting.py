"""The confirmation prompt of ``apply`` and ``push``: a Ctrl-C there stops the command at once.

The prompt is asked inside the command's event loop, whose Ctrl-C handling (asyncio's, or ours
while steps run) only takes effect once the loop runs again, and a blocking read of the answer is
only interrupted when the signal reaches the thread that reads. So the answer is read by a thread
of its own while the main thread waits a tenth of a second at a time, and Ctrl-C raises there at
once; the reading thread is left to end with the process.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from reconciler.errors import Interrupted

_WAIT_S = 0.1  # how often the main thread looks for a Ctrl-C while the answer is read


def ask(question: str) -> bool:
    """``click.confirm(question)`` (default no); ``Interrupted`` at once on Ctrl-C, "no" on end of
    input."""
    if threading.current_thread() is not threading.main_thread():
        return _confirm(question)  # no signal to catch here
    answer: list[bool] = []
    reader = threading.Thread(target=lambda: answer.append(_confirm(question)), daemon=True)

    def on_sigint(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        reader.start()
        while reader.is_alive():
            reader.join(_WAIT_S)
    except KeyboardInterrupt:
        raise Interrupted(
            "at the confirmation prompt, before any change was sent (nothing was sent to the API)",
            hint="run the same command again",
        ) from None
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    return bool(answer and answer[0])


def _confirm(question: str) -> bool:
    try:
        return click.confirm(question, default=False)
    except click.Abort:  # end of input (or Ctrl-C where it reaches the reading thread)
        return False
