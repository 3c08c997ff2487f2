"""What ``--help`` says beyond the options: the environment variables each command reads, shell
completion, and the values ``--target`` completes to (kinds and names from the manifests)."""

from __future__ import annotations

import os
from typing import Any

import click

# The connection's variables, as every command that talks to the API reads them.
CONNECTION_ENV = """\
  WEBEX_ACCESS_TOKEN   the API access token (never a flag value)
  WEBEX_TOKEN_FILE     or a file holding it (as --token-file)
  WEBEX_BASE_URL       the API base URL (as --base-url; default https://webexapis.com/v1)
  WEBEX_ORG_ID         the org to act on, for partner administrators (as --org-id)
  WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET, WEBEX_REFRESH_TOKEN   OAuth refresh, all three or none
  (--simulate needs none of them: an embedded simulator of the demo org)"""

_BOT = "  WEBEX_BOT_TOKEN      the bot that posts to --notify-room"
_SECRETS = "  RECONCILER_SECRET_*  the values of fromEnv secrets the manifests reference"

# What each command reads besides the connection (in the order its help shows them).
_EXTRA = {
    "plan": ["  RECONCILER_SECRET_*  fromEnv secrets: plan warns about unset ones, never holds a value"],
    "apply": [_SECRETS, _BOT],
    "drift": [_BOT],
    "push": [],
    "explain": [],
    "export": [
        "  RECONCILER_SECRET_*  not read: secret values are never exported; the files reference them as",
        "                       {fromEnv: RECONCILER_SECRET_NAME} placeholders, listed after the export",
    ],
}


def env_epilog(command: str) -> str:
    """The help's ``Environment:`` section of ``command`` (kept as written: ``\\b``)."""
    if command == "validate":
        body = "  none of the connection's variables: validate runs offline, without a token"
    elif command == "show":
        body = "  none: show reads only the saved plan, never the API"
    elif command == "demo":
        body = "  none: the demo runs on an embedded simulator, in a temporary directory"
    else:
        body = "\n".join([CONNECTION_ENV, *_EXTRA.get(command, [])])
    return f"\b\nEnvironment:\n{body}"


SIM_SERVE_ENV = """\b
Environment:
  RECONCILER_SIM_TOKEN the only token the simulator accepts (as --token; default: any)
\b
What the CLI reads to talk to it (serve prints the two export lines, on stderr):
  WEBEX_BASE_URL       http://HOST:PORT/v1 of the simulator
  WEBEX_ACCESS_TOKEN   any token (or the one --token / RECONCILER_SIM_TOKEN names)"""

SIM_ENV = """\b
Environment:
  RECONCILER_SIM_TOKEN the only token `sim serve` accepts (default: any)
\b
What the CLI reads to talk to a served simulator (`sim serve` prints the export lines):
  WEBEX_BASE_URL       http://HOST:PORT/v1 of the simulator
  WEBEX_ACCESS_TOKEN   any token (or the one the simulator was given)"""

MAIN_EPILOG = """\b
Start with `reconciler demo` (no token), or on a simulator of your own:
  reconciler sim serve &        # prints the two export lines that point the CLI at it
  reconciler export -o my-config/ && cd my-config && reconciler plan .

\b
Environment: WEBEX_ACCESS_TOKEN (or WEBEX_TOKEN_FILE), WEBEX_BASE_URL, WEBEX_ORG_ID;
each command's --help lists what it reads.

\b
Shell completion (commands, options, and KIND/NAME for --target from the manifests
in the current directory):
  bash: eval "$(_RECONCILER_COMPLETE=bash_source reconciler)"    in ~/.bashrc
  zsh:  eval "$(_RECONCILER_COMPLETE=zsh_source reconciler)"     in ~/.zshrc
  fish: _RECONCILER_COMPLETE=fish_source reconciler | source     in ~/.config/fish/config.fish"""


def complete_target(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """``--target`` completions from the manifests under the command's PATHs (the current
    directory when none is given yet): the kinds first (``Device/``), then ``KIND/NAME`` once a kind
    is typed, matched case-insensitively; never an error."""
    from click.shell_completion import CompletionItem

    # while completing, click leaves the PATHs typed so far unparsed, in ``ctx.args``
    typed = ctx.params.get("paths") or ctx.args
    given = [str(p) for p in typed or () if os.path.exists(str(p))]
    try:
        addresses = target_addresses(given or ["."])
    except Exception:  # completion must never print a traceback into the user's shell
        return []
    low = incomplete.lower()
    if "/" not in low:
        kinds = sorted({a.partition("/")[0] + "/" for a in addresses})
        return [CompletionItem(k, type="nospace") for k in kinds if k.lower().startswith(low)]
    return [CompletionItem(a) for a in addresses if a.lower().startswith(low)]


def target_addresses(paths: list[str]) -> list[str]:
    """What ``--target`` can name in the manifests under ``paths``: ``Device/0A1B2C3D4E5F``,
    ``LineKeyTemplate/Sales 8851``, ... (no Policy: it is not planned)."""
    from reconciler.validation.validate import validate_paths

    found = validate_paths(paths).resources  # those that load, even beside a broken file
    return sorted({r.address for r in found if r.kind != "Policy"})
