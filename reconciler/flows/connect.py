"""Connections: the Webex API, or an embedded simulator of the demo org, for one command's run;
where the working directory keeps the simulator's state and the apply log by default."""

from __future__ import annotations

import asyncio
import json
import os
import warnings
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.errors import ConfigError
from reconciler.localfiles import make_parent
from reconciler.webex.limiter import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

T = TypeVar("T")

SIM_BASE_URL = "http://sim.invalid/v1"
DEFAULT_SIM_STATE = ".reconciler/sim-state.json"
DEFAULT_LOG = ".reconciler/apply-log.jsonl"
# With --simulate and no --log: the embedded simulator's runs keep a journal of their own, so that
# one never stands in the way of a run against the API (a log of another API is refused).
DEFAULT_SIM_LOG = ".reconciler/sim-apply-log.jsonl"


@dataclass
class Connection:
    base_url: str | None = None
    token_file: str | None = None
    org_id: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    simulate: bool = False
    sim_state: str = DEFAULT_SIM_STATE
    debug: bool = False
    timeout: float = 30.0  # seconds to wait for each API answer
    listing_lag: float | None = None  # seconds to look for a lost create in listings (None: default)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    sim_app: Any = None  # an already-built simulator app (tests, demo)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one command's coroutine to the end, in an event loop of its own."""
    with warnings.catch_warnings():
        # An error in one concurrent read cancels its siblings: the coroutines they never started
        # are not worth a warning on the user's terminal (the error itself is shown).
        warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
        return asyncio.run(coro)


@asynccontextmanager
async def connect(conn: Connection) -> AsyncIterator[WebexClient]:
    from reconciler.webex.client import make_client

    if conn.simulate or conn.sim_app is not None:
        from reconciler.webex.inprocess import in_process_transport

        app = conn.sim_app
        if app is None:
            from reconciler.sim.app import create_app

            make_parent(conn.sim_state)
            if os.path.lexists(conn.sim_state):
                check_sim_state(conn.sim_state)
            app = create_app(seed="demo", state_file=conn.sim_state, job_duration_s=0.2)
            from reconciler.webex.redact import is_secret

            app.state.sim.keep_out = is_secret  # the state file never holds a fromEnv value
        client = make_client(
            SIM_BASE_URL,
            None,
            conn.org_id,
            conn.concurrency,
            transport=in_process_transport(app),
            environ={"WEBEX_ACCESS_TOKEN": "simulated-token"},
            timeout=conn.timeout,
            debug=conn.debug,
        )
    else:
        client = make_client(
            conn.base_url,
            conn.token_file,
            conn.org_id,
            conn.concurrency,
            environ=conn.environ,
            timeout=conn.timeout,
            debug=conn.debug,
        )
    if conn.listing_lag is not None:
        client.listing_lag_s = conn.listing_lag
    async with client:
        yield client


def check_sim_state(path: str) -> None:
    """A simulator state file that can be loaded: a regular, size-capped file holding a state the
    simulator reads (``ConfigError`` naming the file otherwise, never a hang or a traceback)."""
    from reconciler.localfiles import read_local
    from reconciler.sim.store import Store

    raw = read_local(path, "simulator state")
    try:
        Store.from_dict(json.loads(raw))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        problem = f"{type(exc).__name__}: {str(exc)[:200]}"
        message = f"cannot read simulator state {path}: {problem}; move it away to start afresh"
        raise ConfigError(message) from None


def lock_target(conn: Connection) -> tuple[str, str | None]:
    """(base URL, org) that an apply through ``conn`` changes: what its lock is keyed by. An
    embedded simulator is told apart by its state file."""
    if conn.simulate or conn.sim_app is not None:
        where = "in-process" if conn.sim_app is not None else os.path.abspath(conn.sim_state)
        return f"{SIM_BASE_URL}#{where}", conn.org_id
    from reconciler.webex.client import resolve_base_url

    return resolve_base_url(conn.base_url, conn.environ), conn.org_id
