"""Which environment variables a manifest may read with ``{fromEnv: NAME}``.

Manifests come from pull requests, and the tool runs with an admin token in its environment: a
manifest that could read any variable could write the token into the org's settings (readable by
any GET, pushed to every phone). So ``fromEnv`` reads an allow-list:

- a variable whose name starts with ``RECONCILER_SECRET_`` (the documented prefix), or
- a variable a ``Policy`` lists in ``spec.allowFromEnv``;
- never one the tool reads itself (``TOOL_VARIABLES``, and every ``WEBEX_*`` name), even when
  listed, and never a value that is one of the tool's credentials (``credential_values``: a
  token file's content under another name), checked before the first request.

Refusals are diagnostics at the ``fromEnv``'s file:line, found by ``validate`` (and so before
``plan`` or ``apply`` sends anything).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.model import Diagnostic, Resource, SecretRef

__all__ = [
    "PREFIX",
    "TOOL_VARIABLES",
    "allowed_names",
    "credential_values",
    "is_tool_variable",
    "refusal",
    "secret_refs",
]

PREFIX = "RECONCILER_SECRET_"
# The tool's own credentials and settings, never readable by a manifest (every WEBEX_* name too).
TOOL_VARIABLES = frozenset(
    {
        "WEBEX_ACCESS_TOKEN",
        "WEBEX_CLIENT_ID",
        "WEBEX_CLIENT_SECRET",
        "WEBEX_REFRESH_TOKEN",
        "WEBEX_BOT_TOKEN",
        "WEBEX_BASE_URL",
        "RECONCILER_SIM_TOKEN",
    }
)
POLICY_FIELD = "allowFromEnv"
# Those of them that hold a secret.
SECRET_VARIABLES = (
    "WEBEX_ACCESS_TOKEN",
    "WEBEX_CLIENT_SECRET",
    "WEBEX_REFRESH_TOKEN",
    "WEBEX_BOT_TOKEN",
    "RECONCILER_SIM_TOKEN",
)


def is_tool_variable(name: str) -> bool:
    return name in TOOL_VARIABLES or name.upper().startswith("WEBEX_")


def allowed_names(resources: Iterable[Resource]) -> frozenset[str]:
    """The names the Policies of ``resources`` allow besides the prefix (tool variables never)."""
    out: set[str] = set()
    for r in resources:
        if r.kind == "Policy":
            names = r.spec.get(POLICY_FIELD)
            if isinstance(names, list):
                out.update(n for n in names if isinstance(n, str) and not is_tool_variable(n))
    return frozenset(out)


def refusal(name: str, allowed: frozenset[str]) -> str | None:
    """Why a manifest may not read the variable ``name`` (None: it may)."""
    if is_tool_variable(name):
        return (
            f"fromEnv {name} names one of the tool's own credentials or settings: a manifest may "
            "never read it (it would send it to the API)"
        )
    if name.startswith(PREFIX) or name in allowed:
        return None
    return (
        f"fromEnv {name} is not allowed: a manifest reads only variables named {PREFIX}* or "
        f"listed in a Policy's spec.{POLICY_FIELD}"
    )


def secret_refs(value: Any, pointer: str) -> Iterable[tuple[str, SecretRef]]:
    """(JSON pointer, reference) of every ``{fromEnv: NAME}`` under ``value``."""
    if isinstance(value, SecretRef):
        yield pointer, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from secret_refs(v, f"{pointer}/{str(k).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from secret_refs(v, f"{pointer}/{i}")


def credential_values(
    resources: Iterable[Resource], environ: Mapping[str, str], is_credential: Any
) -> list[Diagnostic]:
    """A diagnostic per ``fromEnv`` whose variable holds one of the tool's credentials
    (``is_credential(value)``): the token read from a token file, copied into another variable."""
    from reconciler.manifests.load import label_of

    # the tool's secret variables hold credentials too, whether or not this run uses them (the bot
    # token is read only to notify)
    held = {environ[v].strip() for v in SECRET_VARIABLES if environ.get(v, "").strip()}
    out = []
    for r in resources:
        for pointer, ref in secret_refs(r.spec, "/spec"):
            value = environ.get(ref.env)
            if value and (is_credential(value) or value.strip() in held):
                message = (
                    f"the value of {ref.env} (fromEnv) is one of the tool's own credentials: "
                    "refusing to send it to the API"
                )
                out.append(Diagnostic(r.loc(pointer), message, label_of(r), code="env"))
    return out
