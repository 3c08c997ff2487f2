"""``reconciler explain``: the explanation of one device as text (its JSON is the document itself,
schemas/explain.schema.json, written by ``render.jsonfmt``).

Depends on the explanation document (``reconciler.flows.explain``) only; text escapes nothing it
does not need to (values are JSON, names are cut to printable characters by ``textsafe``).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.render.common import paint
from reconciler.textsafe import visible

SOURCES = {
    "device": "device",
    "org": "org",
    "default": "no manifest",
}


def render_explain_text(doc: dict[str, Any], color: bool = False) -> str:
    out = _head(doc, color)
    out += _settings(doc["settings"], color)
    out += _members(doc["members"], color)
    out += _layout(doc["layout"], color)
    return "\n".join(out) + "\n"


def _v(value: Any) -> str:
    return visible(json.dumps(value, ensure_ascii=False))


def _at(where: str | None) -> str:
    return f"  # {visible(where)}" if where else ""


def _head(doc: dict[str, Any], color: bool) -> list[str]:
    d = doc["device"]
    details = ", ".join(visible(str(x)) for x in (d.get("model"), d.get("owner")) if x)
    out = [paint(f"Device {d['mac']} ({details})", "1", color)]
    out.append(f"  location: {visible(str(d.get('location') or '(none)'))}")
    out.append(f"  manifest: {visible(d['manifest']) if d.get('manifest') else '(none: not managed)'}")
    return [*out, ""]


def _holder(settings: dict[str, Any]) -> str:
    holder = settings.get("holder")
    if holder == "device":
        return "the device has its own settings"
    if holder and holder != "org":
        return f"the device shows its {holder}'s settings"
    return "the device shows the org's settings"


def _settings(settings: dict[str, Any], color: bool) -> list[str]:
    if not settings.get("family"):
        return ["Settings: none (the model takes no settings)", ""]
    out = [paint(f"Settings ({settings['family']}; {_holder(settings)})", "1", color)]
    undeclared = [f for f in settings["fields"] if not f.get("manifest")]
    for f in settings["fields"]:
        if not f.get("manifest"):
            continue
        line = f"  {f['field']} = {_v(f['value'])}    from {visible(f['source'])}{_at(f['manifest'])}"
        out.append(line)
        if "desired" in f:
            out.append(paint(f"      the manifests mean {_v(f['desired'])}: a plan changes it", "33", color))
    if undeclared:
        out.append(f"  declared by no manifest ({len(undeclared)}): held by the {undeclared[0]['holder']}")
        out += [f"    {f['field']} = {_v(f['value'])}" for f in undeclared]
    return [*out, ""]


def _members(members: dict[str, Any], color: bool) -> list[str]:
    source = "the device's manifest" if members.get("source") == "device" else "no manifest (live)"
    out = [paint(f"Members (from {source}){_at(members.get('manifest'))}", "1", color)]
    for m in members["items"]:
        flags = ", ".join(
            x
            for x in (
                str(m.get("lineType") or ""),
                f"lineWeight {m.get('lineWeight')}",
                "owner" if m.get("primaryOwner") else "",
                "not declared: a plan removes it" if m.get("removed") else "",
            )
            if x
        )
        out.append(f"  port {m['port']}: {visible(m['member'])} ({flags}){_at(m.get('manifest'))}")
        if m.get("defaults"):
            out.append(f"      API defaults: {', '.join(m['defaults'])}")
    for port in members.get("missingPorts") or []:
        out.append(paint(f"  port {port}: declared, not on the device: a plan adds it", "33", color))
    return [*out, ""]


def _layout(layout: dict[str, Any], color: bool) -> list[str]:
    source = layout.get("source")
    if source == "template":
        what = f"template {visible(repr(layout.get('template')))} through {visible(str(layout.get('via')))}"
    elif source == "device":
        what = "the device's manifest"
    elif source == "default":
        what = "the API's default (the model's default layout)"
    else:
        what = "no manifest (set outside the manifests)"
    out = [
        paint(f"Layout ({layout.get('layoutMode')}; from {what}){_at(layout.get('manifest'))}", "1", color)
    ]
    if layout.get("templateManifest"):
        out.append(f"  template declared at {visible(layout['templateManifest'])}")
    for key in layout.get("lineKeys") or []:
        rest = ", ".join(f"{k}: {_v(v)}" for k, v in key.items() if k not in ("lineKeyIndex", "lineKeyType"))
        out.append(
            f"  key {key.get('lineKeyIndex')}: {key.get('lineKeyType')}" + (f" ({rest})" if rest else "")
        )
    if layout.get("kemModuleType"):
        out.append(f"  KEM: {layout['kemModuleType']}")
    if layout.get("matches") is False:
        out.append(paint("  differs from what the manifests mean: a plan changes it", "33", color))
    out += [f"  note: {visible(n)}" for n in layout.get("notes") or []]
    return out
