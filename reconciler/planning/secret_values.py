"""Whether a declared ``{fromEnv: NAME}`` settings value differs from the one the API holds.

A settings secret the API returns (an HTTP proxy or web access password, an LDAP ``bindPw``, an
SNMP community declared by reference) can be compared: when the variable is set where the plan
runs, its value is compared with the live one (never shown, logged or kept), and a difference is a
``(sensitive)`` change of the plan, so that a declaration alone is written and converges. Where the
variable is not set (a pull-request plan without secrets), it cannot be compared; ``apply``, which
refuses to run without it, compares it in its own plan.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from reconciler.model import SecretRef


def live_differs(ref: SecretRef, live: Any, environ: Mapping[str, str] | None = None) -> bool:
    """True when ``ref``'s variable is set and its value is not ``live`` (False when not set)."""
    value = (os.environ if environ is None else environ).get(ref.env)
    return value is not None and value != live
