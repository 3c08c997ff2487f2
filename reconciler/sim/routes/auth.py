"""``POST /v1/access_token``: a new access token for a refresh token (the only route without auth)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ApiError, bad_request
from ..limits import parse_json
from .common import ok, sim_of


async def access_token(request: Request) -> Response:
    sim = sim_of(request)
    form: dict[str, str] = {}
    content_type = request.headers.get("content-type", "")
    raw = (await request.body()).decode("utf-8", "replace")
    if "json" in content_type:
        loaded = parse_json(raw or "{}")
        if not isinstance(loaded, dict):
            raise bad_request("The request body must be a JSON object.")
        form = {str(k): str(v) for k, v in loaded.items()}
    else:
        form = dict(parse_qsl(raw))
    form.update({k: v for k, v in request.query_params.items() if k not in form})
    if form.get("grant_type") != "refresh_token":
        raise bad_request("grant_type must be refresh_token.")
    missing = [f for f in ("client_id", "client_secret", "refresh_token") if not form.get(f)]
    if missing:
        raise bad_request(f"Missing form fields: {', '.join(missing)}.")
    if form["refresh_token"] in sim.revoked_refresh_tokens:
        raise ApiError(400, "The refresh token is invalid or expired.")
    return ok(sim.issue_token(form["refresh_token"]))


def routes() -> list[Route]:
    return [Route("/v1/access_token", access_token, methods=["POST"])]
