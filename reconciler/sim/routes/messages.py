"""``/v1/messages``: post a message to a room, list a room's messages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import jobs
from ..errors import bad_request
from ..simulator import Simulator
from ..store import Message
from .common import json_body, ok, page, query, sim_of, wrote


def _message_json(sim: Simulator, msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"id": msg.id, "roomId": msg.room_id, "roomType": "group"}
    if msg.text is not None:
        out["text"] = msg.text
    if msg.markdown is not None:
        out["markdown"] = msg.markdown
    out.update(personId=sim.store.admin_id, personEmail="admin@example.com", created=msg.created)
    return out


async def create_message(request: Request) -> Response:
    sim = sim_of(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    room = body.get("roomId") or body.get("toPersonEmail") or body.get("toPersonId")
    if not room:
        raise bad_request("One of roomId, toPersonId or toPersonEmail is required.")
    if not (body.get("text") or body.get("markdown")):
        raise bad_request("A message needs text or markdown.")
    if len(str(body.get("markdown") or body.get("text"))) > 7439:
        raise bad_request("The message is longer than 7439 bytes.")
    created = jobs.iso(sim.now())
    msg = Message(sim.new_id("MESSAGE"), str(room), body.get("text"), body.get("markdown"), created)
    sim.store.messages.append(msg)
    wrote(request)
    return ok(_message_json(sim, msg))


async def list_messages(request: Request) -> Response:
    sim = sim_of(request)
    room = query(request, "roomId")
    if room is None:
        raise bad_request("roomId is required.")
    items = [_message_json(sim, m) for m in reversed(sim.store.messages) if m.room_id == room]
    chunk, headers = page(request, items, 50, 1000)
    return ok({"items": chunk}, headers=headers)


def routes() -> list[Route]:
    return [
        Route("/v1/messages", list_messages, methods=["GET"]),
        Route("/v1/messages", create_message, methods=["POST"]),
    ]
