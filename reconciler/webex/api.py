"""Typed wrappers for the Webex endpoints the kinds need.

``WebexApi`` is a mixin: ``WebexClient`` inherits it, so every wrapper is a method of the client
(``await client.get_members(device_id)``). The wrappers only shape paths, parameters and bodies;
retries, paging, auth and errors are the client's job. Reads that return one object return the
response body (a dict); listings return the items (a list of dicts).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from reconciler.errors import ApiError, ConfigError
from reconciler.model import mac_with_colons, normalize_mac
from reconciler.webex.answers import answer_json, bad_answer, checked
from reconciler.webex.lean import DEVICE_UNREAD, PERSON_UNREAD, leaner
from reconciler.webex.once import listing_lag, look_for, may_have_started
from reconciler.webex.redact import LOGGER_NAME

log = logging.getLogger(LOGGER_NAME)

JSONDict = dict[str, Any]
Params = Mapping[str, str | int | float | bool | None]

# Up to this many keys are looked up one filtered request each (concurrently); more than that, one
# paginated listing of the whole collection filtered here is cheaper.
FEW_KEYS = 20
# Page sizes asked for listings (the API may return fewer).
DEVICES_PAGE = 1000
PEOPLE_PAGE = 1000
WORKSPACES_PAGE = 1000
LOCATIONS_PAGE = 1000

DEVICES = "/telephony/config/devices"
TEMPLATES = f"{DEVICES}/lineKeyTemplates"
BACKGROUND_IMAGES = f"{DEVICES}/backgroundImages"


def _id(value: str) -> str:
    """A path segment (ids are URL-safe already; this guards against anything that is not)."""
    return quote(value, safe="")


def _json(resp: httpx.Response) -> JSONDict:
    """The answer as a JSON object ({} when empty); ``BadAnswer`` when it is anything else."""
    return answer_json(resp)


def _is_ambiguous(exc: ApiError) -> bool:
    """A failed POST that may nevertheless have been applied (5xx, or no response at all)."""
    return exc.status is None or exc.status in (500, 502, 503, 504)


class WebexApi:
    """Endpoint wrappers; the transport methods are provided by ``WebexClient``."""

    # -- provided by the client -----------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        retry_post: bool = False,
        token_override: str | None = None,
    ) -> httpx.Response:
        raise NotImplementedError

    async def paginate(
        self,
        path: str,
        params: Params | None = None,
        items_key: str = "items",
        each: Callable[[JSONDict], JSONDict | None] | None = None,
        expected: int | None = None,
    ) -> list[JSONDict]:
        raise NotImplementedError

    async def _get(self, path: str, params: Params | None = None) -> JSONDict:
        return checked(await self.request("GET", path, params=params))

    async def _put(self, path: str, body: Any, params: Params | None = None) -> JSONDict:
        return _json(await self.request("PUT", path, json=body, params=params))

    # -- devices (/v1/devices) --------------------------------------------------------------------

    async def list_devices(self, **filters: str | int | bool | None) -> list[JSONDict]:
        """``GET /devices`` with any of its filters (``mac``, ``locationId``, ``type``...), all pages."""
        params: dict[str, str | int | bool | None] = {"max": DEVICES_PAGE}
        params.update(filters)
        return await self.paginate("/devices", params, "items")

    async def devices_by_mac(self, macs: Iterable[str]) -> dict[str, JSONDict]:
        """Devices keyed by normalized MAC (``AABBCCDDEEFF``); MACs not found are absent.

        Few MACs: one ``/devices?mac=`` request each, concurrently. Many: one paginated listing of
        ``/devices`` (1000 a page) filtered here, so N devices cost about N/1000 requests.
        """
        wanted: set[str] = set()
        for mac in macs:
            norm = normalize_mac(mac)
            if norm is None:
                raise ConfigError(f"not a MAC address: {mac!r}")
            wanted.add(norm)
        if not wanted:
            return {}
        # items cut to what is read (lean.py): a plan keeps them for the whole run
        each = leaner(DEVICE_UNREAD, lambda d: normalize_mac(str(d.get("mac") or "")) in wanted)
        if len(wanted) <= FEW_KEYS:
            one = [{"mac": mac_with_colons(m)} for m in sorted(wanted)]
            pages = await asyncio.gather(*(self.paginate("/devices", q, "items", each) for q in one))
            found = [d for page in pages for d in page]
        else:
            # (the spec pages /devices by offset: the pages of the MACs wanted may go out together)
            found = await self.paginate("/devices", {"max": DEVICES_PAGE}, "items", each, len(wanted))
        out: dict[str, JSONDict] = {}
        for device in found:
            norm = normalize_mac(str(device.get("mac") or ""))
            if norm in wanted and norm not in out:
                out[norm] = device
        return out

    # -- people, workspaces, locations ----------------------------------------------------------

    async def people_by_email(self, emails: Iterable[str]) -> dict[str, JSONDict]:
        """People keyed by lowercased email; emails not found are absent (same strategy as MACs)."""
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        if not wanted:
            return {}
        each = leaner(PERSON_UNREAD, lambda p: any(str(e).lower() in wanted for e in p.get("emails") or []))
        if len(wanted) <= FEW_KEYS:
            pages = await asyncio.gather(
                *(self.paginate("/people", {"email": e}, "items", each) for e in sorted(wanted))
            )
            found = [p for page in pages for p in page]
        else:
            found = await self.paginate("/people", {"max": PEOPLE_PAGE}, "items", each)
        out: dict[str, JSONDict] = {}
        for person in found:
            for email in person.get("emails") or []:
                key = str(email).lower()
                if key in wanted and key not in out:
                    out[key] = person
        return out

    async def workspaces_by_name(self, names: Iterable[str]) -> dict[str, JSONDict]:
        """Workspaces keyed by the given ``displayName`` (exact match first, else case-insensitive)."""
        return await self._by_name(names, "/workspaces", "displayName", "displayName", WORKSPACES_PAGE)

    async def locations_by_name(self, names: Iterable[str]) -> dict[str, JSONDict]:
        """Locations keyed by the given name (exact match first, else case-insensitive)."""
        return await self._by_name(names, "/locations", "name", "name", LOCATIONS_PAGE)

    async def _by_name(
        self, names: Iterable[str], path: str, param: str, field: str, page: int
    ) -> dict[str, JSONDict]:
        wanted = sorted({n for n in names if n})
        if not wanted:
            return {}
        if len(wanted) <= FEW_KEYS:
            pages = await asyncio.gather(*(self.paginate(path, {param: n}, "items") for n in wanted))
            found = [item for pg in pages for item in pg]
        else:
            found = await self.paginate(path, {"max": page}, "items")
        exact: dict[str, JSONDict] = {}
        folded: dict[str, list[JSONDict]] = {}
        for item in found:
            name = str(item.get(field) or "")
            exact.setdefault(name, item)
            folded.setdefault(name.casefold(), [])
            if item not in folded[name.casefold()]:
                folded[name.casefold()].append(item)
        out: dict[str, JSONDict] = {}
        for name in wanted:
            if name in exact:
                out[name] = exact[name]
            elif len(folded.get(name.casefold(), [])) == 1:
                out[name] = folded[name.casefold()][0]
        return out

    # -- line key templates ---------------------------------------------------------------------

    async def list_line_key_templates(self) -> list[JSONDict]:
        body = await self._get(TEMPLATES)
        return [t for t in body.get("lineKeyTemplates") or [] if isinstance(t, dict)]

    async def get_line_key_template(self, template_id: str) -> JSONDict:
        return await self._get(f"{TEMPLATES}/{_id(template_id)}")

    async def create_line_key_template(self, body: JSONDict) -> str:
        """POST a template; returns its id. Not blindly retried: after an ambiguous failure (5xx, no
        response) the templates are listed (``_create_once``), and a template of that name (names
        are unique in an org) means the POST landed."""

        async def find() -> JSONDict | None:
            name = body.get("templateName")
            for template in await self.list_line_key_templates():
                if name and template.get("templateName") == name:
                    return template
            return None

        send = lambda: self.request("POST", TEMPLATES, json=body)  # noqa: E731
        result = await self._create_once(send, find, what=f"line key template {body.get('templateName')!r}")
        if isinstance(result, dict):
            return str(result.get("id") or "")
        return str(_json(result).get("id") or "")

    async def update_line_key_template(self, template_id: str, body: JSONDict) -> None:
        await self._put(f"{TEMPLATES}/{_id(template_id)}", body)

    async def delete_line_key_template(self, template_id: str) -> None:
        await self.request("DELETE", f"{TEMPLATES}/{_id(template_id)}")

    async def preview_apply_line_key_template(self, body: JSONDict) -> int:
        """How many devices an ``applyLineKeyTemplate`` job with ``body`` would change."""
        resp = await self.request(
            "POST", f"{DEVICES}/actions/previewApplyLineKeyTemplate/invoke", json=body, retry_post=True
        )
        count = _json(resp).get("deviceCount") or 0
        if isinstance(count, bool) or not isinstance(count, int | float):
            raise bad_answer(resp, f"deviceCount {count!r} is not a number")
        return int(count)

    async def _create_once(
        self,
        send: Callable[[], Awaitable[httpx.Response]],
        find: Callable[[], Awaitable[JSONDict | None]],
        tries: int = 3,
        what: str = "create",
    ) -> httpx.Response | JSONDict:
        """Send a creating POST at most once per proof that the previous one did not land: after
        an ambiguous failure ``find`` is asked for the object until it is listed, for up to the
        client's listing lag (``webex/once.py``); found, it is the result."""
        window = listing_lag(self)
        for attempt in range(1, tries + 1):
            try:
                return await send()
            except ApiError as exc:
                if not _is_ambiguous(exc):
                    raise

                async def listed() -> list[JSONDict]:
                    found = await find()
                    return [found] if found is not None else []

                existing = await look_for(listed, window, exc, what)
                if existing:
                    log.info("%s %s: the failed request had been applied", exc.method, exc.path)
                    return existing[0]
                if getattr(exc, "timed_out", False) or attempt == tries:
                    raise may_have_started(exc, what, window) from None
                log.info("%s %s: not listed in %g s; sending it again", exc.method, exc.path, window)
        raise AssertionError("unreachable")

    # -- one device (/telephony/config/devices/{id}) --------------------------------------------

    async def get_members(self, device_id: str) -> JSONDict:
        return await self._get(f"{DEVICES}/{_id(device_id)}/members")

    async def put_members(self, device_id: str, body: JSONDict) -> None:
        """Replace the device's member list (members left out are removed)."""
        await self._put(f"{DEVICES}/{_id(device_id)}/members", body)

    async def available_members(self, device_id: str, **params: str | int | bool | None) -> list[JSONDict]:
        return await self.paginate(f"{DEVICES}/{_id(device_id)}/availableMembers", params, "members")

    async def get_layout(self, device_id: str) -> JSONDict:
        return await self._get(f"{DEVICES}/{_id(device_id)}/layout")

    async def put_layout(self, device_id: str, body: JSONDict) -> None:
        await self._put(f"{DEVICES}/{_id(device_id)}/layout", body)

    async def get_device_settings(self, device_id: str, device_model: str | None = None) -> JSONDict:
        return await self._get(f"{DEVICES}/{_id(device_id)}/settings", {"deviceModel": device_model})

    async def put_device_settings(
        self, device_id: str, body: JSONDict, device_model: str | None = None
    ) -> None:
        await self._put(f"{DEVICES}/{_id(device_id)}/settings", body, {"deviceModel": device_model})

    async def get_device_details(self, device_id: str) -> JSONDict:
        return await self._get(f"{DEVICES}/{_id(device_id)}")

    async def put_third_party_device(self, device_id: str, body: JSONDict) -> None:
        await self._put(f"{DEVICES}/{_id(device_id)}", body)

    async def apply_changes(self, device_id: str) -> None:
        """Push the device's configuration. Repeating it only re-syncs the phone, so it is retried
        like an idempotent request."""
        await self.request("POST", f"{DEVICES}/{_id(device_id)}/actions/applyChanges/invoke", retry_post=True)

    async def validate_macs(self, macs: Iterable[str]) -> JSONDict:
        """``{"status": ..., "macStatus": [{"mac", "state", ...}]}`` for MACs to be added."""
        cleaned = [normalize_mac(m) or m for m in macs]
        resp = await self.request(
            "POST", f"{DEVICES}/actions/validateMacs/invoke", json={"macs": cleaned}, retry_post=True
        )
        return _json(resp)

    # -- catalogue and org / location settings --------------------------------------------------

    async def get_supported_devices(self) -> list[JSONDict]:
        body = await self._get("/telephony/config/supportedDevices")
        return [d for d in body.get("devices") or [] if isinstance(d, dict)]

    async def get_org_device_settings(self) -> JSONDict:
        return await self._get(f"{DEVICES}/settings")

    async def get_location_device_settings(self, location_id: str) -> JSONDict:
        return await self._get(f"/telephony/config/locations/{_id(location_id)}/devices/settings")

    # -- people ---------------------------------------------------------------------------------

    async def get_person_devices(self, person_id: str) -> JSONDict:
        return await self._get(f"/telephony/config/people/{_id(person_id)}/devices")

    async def get_person_device_settings(self, person_id: str) -> JSONDict:
        return await self._get(f"/telephony/config/people/{_id(person_id)}/devices/settings")

    async def put_person_device_settings(self, person_id: str, body: JSONDict) -> None:
        await self._put(f"/telephony/config/people/{_id(person_id)}/devices/settings", body)

    async def put_person_hoteling(self, person_id: str, body: JSONDict) -> None:
        await self._put(f"/telephony/config/people/{_id(person_id)}/devices/settings/hoteling", body)

    async def person_device_count(self, person_id: str) -> JSONDict:
        return await self._get(f"/telephony/config/people/{_id(person_id)}/devices/count")

    # -- workspaces -----------------------------------------------------------------------------

    async def get_workspace_devices(self, workspace_id: str) -> JSONDict:
        return await self._get(f"/telephony/config/workspaces/{_id(workspace_id)}/devices")

    async def put_workspace_devices(self, workspace_id: str, body: JSONDict) -> None:
        await self._put(f"/telephony/config/workspaces/{_id(workspace_id)}/devices", body)

    async def get_workspace_device_settings(self, workspace_id: str) -> JSONDict:
        return await self._get(f"/telephony/config/workspaces/{_id(workspace_id)}/devices/settings")

    async def put_workspace_device_settings(self, workspace_id: str, body: JSONDict) -> None:
        await self._put(f"/telephony/config/workspaces/{_id(workspace_id)}/devices/settings", body)

    # -- background images ----------------------------------------------------------------------

    async def list_background_images(self) -> list[JSONDict]:
        body = await self._get(BACKGROUND_IMAGES)
        return [i for i in body.get("backgroundImages") or [] if isinstance(i, dict)]

    async def upload_background_image(
        self, device_id: str, file_name: str, content: bytes, content_type: str
    ) -> JSONDict:
        """Upload an image (multipart ``file`` + ``fileName``). After an ambiguous failure the image
        list is read: an image of that name means the upload landed and is not sent again."""
        stem = file_name.rsplit(".", 1)[0]

        async def find() -> JSONDict | None:
            for image in await self.list_background_images():
                if image.get("fileName") in (file_name, stem):
                    return image
            return None

        def send() -> Awaitable[httpx.Response]:
            return self.request(
                "POST",
                f"{DEVICES}/{_id(device_id)}/actions/backgroundImageUpload/invoke",
                files={"file": (file_name, content, content_type)},
                data={"fileName": file_name},
            )

        result = await self._create_once(send, find, what=f"background image upload {file_name!r}")
        return result if isinstance(result, dict) else _json(result)

    async def delete_background_images(self, file_names: list[str], force: bool = False) -> JSONDict:
        """Delete images by file name; ``force`` also resets devices that display them."""
        body = {"backgroundImages": [{"fileName": n, "forceDelete": force} for n in file_names]}
        return _json(await self.request("DELETE", BACKGROUND_IMAGES, json=body))

    # -- messages -------------------------------------------------------------------------------

    async def post_message(self, room_id: str, markdown: str, token_override: str | None = None) -> JSONDict:
        """Post a markdown message to a room (e.g. a plan summary, with a bot's token)."""
        resp = await self.request(
            "POST", "/messages", json={"roomId": room_id, "markdown": markdown}, token_override=token_override
        )
        return _json(resp)
