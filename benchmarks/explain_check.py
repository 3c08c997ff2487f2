"""``reconciler explain`` held to the oracle: after a converged apply, what explain says of a device
(each settings value and who declares it, its layout's source, its members) must agree with the
phone as the simulator shows it and with the oracle's reading of the manifests
(``benchmarks/oracle.py``, which shares no code with explain's chain of declarations)."""

from __future__ import annotations

from typing import Any

from benchmarks import oracle

SENSITIVE = "(sensitive)"


def _at(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split(".")[1:]:  # the first part is the family
        if not isinstance(node, dict) or part not in node:
            return "(absent)"
        node = node[part]
    return node


def problems(doc: dict[str, Any], dev: oracle.LiveDevice, judge: oracle.Oracle) -> list[str]:
    """How ``doc`` (``explain --format json`` of ``dev``, after the apply) disagrees."""
    out: list[str] = []
    mac = dev.mac
    claims = judge.claims(dev)
    fields = {f["field"]: f for f in (doc.get("settings") or {}).get("fields") or []}
    for name, entry in fields.items():
        have = _at(dev.settings, name)
        if entry["value"] != SENSITIVE and entry["value"] != have:
            out.append(f"explain {mac} {name}: value {entry['value']!r}, the phone shows {have!r}")
        if "desired" in entry:
            out.append(f"explain {mac} {name}: says a plan would change it to {entry['desired']!r}")
    for name, label in claims.items():
        entry = fields.get(name)
        if entry is None:
            out.append(f"explain {mac} {name}: not listed (declared by {label})")
        elif entry["source"] != label:
            out.append(f"explain {mac} {name}: source {entry['source']!r}, declared by {label!r}")
    layout = doc.get("layout") or {}
    if layout.get("matches") is False:
        out.append(f"explain {mac} layout: says it does not match what the manifests mean")
    if layout.get("layoutMode") != dev.layout.get("layoutMode"):
        shown, have = layout.get("layoutMode"), dev.layout.get("layoutMode")
        out.append(f"explain {mac} layout: mode {shown!r}, the phone {have!r}")
    own = (judge.dev_docs.get(mac) or {}).get("layout")
    _, reaching = judge.layout(dev)
    if own is not None and layout.get("via") != "the device's manifest":
        out.append(f"explain {mac} layout: via {layout.get('via')!r}, the device's manifest declares it")
    elif own is None and reaching and not _skips_custom(judge) and layout.get("template") != reaching[0]:
        out.append(f"explain {mac} layout: template {layout.get('template')!r}, assigned {reaching[0]!r}")
    items = (doc.get("members") or {}).get("items") or []
    if len([i for i in items if not i.get("removed")]) != len(dev.members):
        out.append(f"explain {mac} members: {len(items)} listed, the phone has {len(dev.members)}")
    return out


def _skips_custom(judge: oracle.Oracle) -> bool:
    """An assignment that leaves out custom layouts matches other devices after its job than
    before (each it changed holds a custom layout now): explain reads the org as it is now."""
    return any(spec.get("excludeDevicesWithCustomLayout") for spec in judge.assignments)
