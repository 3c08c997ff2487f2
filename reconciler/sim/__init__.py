"""A faithful local simulator of the Webex Device Call Settings API.

It does not import the rest of ``reconciler``: it is an independent fake of the API. Build it with
:func:`reconciler.sim.app.create_app`, serve it with :func:`reconciler.sim.server.serve`.
"""

from __future__ import annotations
