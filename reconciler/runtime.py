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

import gc

# Young objects allocated before a collection (default 700), and how many younger collections
# before an older one (defaults 10 and 10).
THRESHOLDS = (100_000, 20, 10)

_tuned = False


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
