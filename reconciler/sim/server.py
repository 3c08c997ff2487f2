"""Serve the simulator with uvicorn (``reconciler sim serve``)."""

from __future__ import annotations

import logging
from typing import Any

from .app import create_app
from .faults import SimulatedDrop


class _QuietDrops(logging.Filter):
    """Simulated dropped connections are intended: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SimulatedDrop)


def check_port(host: str, port: int) -> None:
    """Raise ``OSError`` when ``host:port`` cannot be listened on (in use, not an address here)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))


def serve(host: str = "127.0.0.1", port: int = 8765, **create_app_kwargs: Any) -> None:
    """Run the simulator until interrupted; keyword arguments go to :func:`create_app`."""
    import uvicorn

    if create_app_kwargs.get("base_url") is None:
        create_app_kwargs.pop("base_url", None)
    lag = float(create_app_kwargs.pop("listing_lag_s", 0.0) or 0.0)
    app = create_app(**create_app_kwargs)
    app.state.sim.faults.listing_lag_s = lag
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    uvicorn.Server(config).run()
