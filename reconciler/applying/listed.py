"""After an apply: wait until the API lists what it created, before verifying.

The API lists a new line key template or background image only a few seconds after it made it
(``--listing-lag``). The verification that follows an apply reads those listings again: read at
once, a template just created is not there yet, and the apply reported "Not converged" (exit 1)
with the template and the image planned again. So, when an applied step created one, its listing
is read until every created name shows, for at most the listing lag (one read when the API lists
them at once, as the simulator does without ``--listing-lag``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from reconciler.planning.plan import Step
from reconciler.validation.semantic import image_name
from reconciler.webex.once import POLL_S, listing_lag

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

TEMPLATES = "/telephony/config/devices/lineKeyTemplates"
UPLOAD_ENDING = "/actions/backgroundImageUpload/invoke"


def created_names(steps: Iterable[Step]) -> tuple[set[str], set[str]]:
    """The template names and image names (as the org keeps them) that ``steps`` create."""
    templates: set[str] = set()
    images: set[str] = set()
    for s in steps:
        if s.method != "POST" or not isinstance(s.body, dict):
            continue
        if s.path == TEMPLATES and isinstance(s.body.get("templateName"), str):
            templates.add(s.body["templateName"])
        elif s.path.endswith(UPLOAD_ENDING) and isinstance(s.body.get("fileName"), str):
            images.add(image_name(s.body["fileName"]))
    return templates, images


async def wait_until_listed(client: WebexClient, applied: Iterable[Step]) -> set[str]:
    """Read the listings until every template and image the ``applied`` steps created shows (at
    most ``listing_lag`` seconds); the names still not listed then."""
    templates, images = created_names(applied)
    deadline = time.monotonic() + listing_lag(client)
    while templates or images:
        if templates:
            templates -= {str(t.get("templateName")) for t in await client.list_line_key_templates()}
        if images:
            images -= {str(i.get("fileName")) for i in await client.list_background_images()}
        left = deadline - time.monotonic()
        if not (templates or images) or left <= 0:
            break
        await asyncio.sleep(min(POLL_S, left))
    return templates | images
