"""Process-wide settings of the ``reconciler`` command (never applied when the CLI is called as a
library, e.g. by tests through click's runner).

A plan holds many long-lived objects (the loaded manifests with a position for every key, the
answers read) and makes hundreds of thousands of short-lived ones per 10,000 devices. With
CPython's default thresholds the cyclic garbage collector ran over and over across the long-lived
ones: about a quarter of a 10,000-device plan's CPU (benchmarks: 14.7 s of CPU with the defaults,
10.8-11.3 s with the thresholds below). Reference counting still frees almost everything at once; the
collector only has cycles left to find, and it still runs, less often.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterator

# Young objects allocated before a collection (default 700), and how many younger collections
# before an older one (defaults 10 and 10). After its load (frozen: ``loading``), a 10,000-device
# plan made two passes at 100,000 over what it keeps (the listings, the answers): 60 ms, nothing
# to free (224 objects in cycles at its end); at 1,000,000 none runs.
THRESHOLDS = (1_000_000, 20, 10)

_tuned = False
_loads = 0  # loads made while tuned (``loading``)


def tune() -> None:
    """Set the collector for a command run (called once, by the console script)."""
    global _tuned
    gc.set_threshold(*THRESHOLDS)
    _tuned = True


def settle() -> None:
    """After the manifests are loaded: they live as long as the run, so the collector stops
    looking at them (and at everything else alive now) when tuned."""
    if _tuned:
        gc.freeze()


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """While the manifests load (when tuned): no collector at all. A load makes millions of
    objects that all live on (values, positions, cache entries) and hardly a cycle, and each pass
    of the collector walked everything made so far: at 100,000 manifests 2.4 s of a 14 s load
    (the YAML parse 6.1 -> 5.1 s, the cache entries' decoding 2.7 -> 1.3 s). What the load made
    is frozen (``settle``) before the collector is on again: else its first pass walks all of it
    (44 ms after 10,000 manifests, for nothing to free). A load after the first (``apply`` loads
    again when files changed) first lets the collector free what the run left in cycles, so that
    no garbage is frozen with the new manifests."""
    global _loads
    if not _tuned or not gc.isenabled():
        yield
        return
    if _loads:
        gc.collect()
    _loads += 1
    gc.disable()
    try:
        yield
    finally:
        settle()
        gc.enable()


def leave(code: int) -> None:
    """End a command run now, as the interpreter would, less its teardown: every object of the
    run freed one by one (2.5 s after a 100,000-manifest ``validate``, for memory the system
    takes back at once). As at any exit, threads that are not daemons are waited for, output is
    flushed and exit handlers run first. Returns when it cannot end the process this way."""
    main = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main and not thread.daemon:
            thread.join()
    try:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except (OSError, ValueError):  # a closed pipe: the usual exit says so as it always did
        return
    atexit._run_exitfuncs()
    os._exit(code)
