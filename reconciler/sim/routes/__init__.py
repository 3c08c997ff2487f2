"""The simulator's route handlers, one module per resource of the Webex API reference.

Each module exposes ``routes()``, its part of the routing table; :mod:`reconciler.sim.app` puts the
parts together in an order that keeps literal paths ahead of the ``{deviceId}`` ones they overlap.

- :mod:`.admin`: ``/_sim`` counters;
- :mod:`.auth`: ``/v1/access_token``;
- :mod:`.messages`: ``/v1/messages``;
- :mod:`.directory`: people, workspaces, locations and ``/v1/devices``;
- :mod:`.templates`: line key templates and their preview;
- :mod:`.images`: background images (list, delete, upload);
- :mod:`.settings`: org, location, device, person and workspace device settings;
- :mod:`.devices`: device members, details, applyChanges, catalogue, MAC checks, person and
  workspace device lists;
- :mod:`.layouts`: device layouts;
- :mod:`.job_routes`: the job endpoints (the job engine is :mod:`reconciler.sim.jobs`).

Shared request helpers (body parsing, query parameters, pages, answers) are in :mod:`.common`;
authentication, faults and counters are the middleware's (:mod:`reconciler.sim.app`).
"""

from __future__ import annotations
