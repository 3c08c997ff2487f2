"""Golden outputs: the demo org's plan (text, markdown, JSON), the apply that follows, and a drift
report after an out-of-band change, each pinned whole as a file beside this one.

Regenerate them all after a deliberate change of output, then review the diff::

    python -m tests.golden --update
"""
