"""``--target KIND/NAME``: which manifests a targeted plan keeps. The kind is matched in any case
(``device/63785e000009``), a Device by its MAC in any format, a PersonDevices by its email in any
case; a target that names nothing is refused with the closest kind or name that exists."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.errors import ConfigError
from reconciler.model import KINDS, Resource, normalize_mac
from reconciler.textsafe import did_you_mean, did_you_mean_mac, shown

_KIND_BY_LOWER = {k.lower(): k for k in KINDS}


def target_address(target: str) -> str:
    """The address ``target`` means: ``device/63785e000009`` -> ``Device/63785E000009``."""
    kind, _, name = target.partition("/")
    if not name:
        raise ConfigError(f"--target {shown(target)}: expected KIND/NAME, e.g. Device/0A1B2C3D4E5F")
    kind = _KIND_BY_LOWER.get(kind.strip().lower(), kind)
    if kind == "Device":
        name = normalize_mac(name) or name
    elif kind == "PersonDevices":
        name = name.lower()
    return f"{kind}/{name}"


def select_targets(resources: list[Resource], targets: Iterable[str]) -> list[Resource]:
    """Keep the resources named by ``--target KIND/NAME``; ``ConfigError`` for one that names
    nothing in the manifests, with a did-you-mean."""
    wanted = {target_address(t): t for t in targets}
    selected = [r for r in resources if r.address in wanted]
    unknown = sorted(set(wanted) - {r.address for r in selected})
    if unknown:
        raise ConfigError(
            "--target names nothing in the manifests: "
            + "; ".join(f"{shown(wanted[a])}{_closest(a, resources)}" for a in unknown[:5])
            + (f"; and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        )
    return selected


def _closest(address: str, resources: list[Resource]) -> str:
    kind, _, name = address.partition("/")
    if kind not in KINDS:
        return did_you_mean(kind, KINDS)
    names = [r.name for r in resources if r.kind == kind]
    found = did_you_mean_mac(name, names) if kind == "Device" else did_you_mean(name, names)
    if found:
        return found.replace("did you mean '", f"did you mean '{kind}/", 1)
    return f" (no {kind} manifest is planned)" if not names else ""


def check_target_kinds(targets: Iterable[str]) -> None:
    """``ConfigError`` for a target not of the form KIND/NAME or of no kind there is, before any
    work (and before the targeting warning)."""
    for target in targets:
        kind = target_address(target).partition("/")[0]
        if kind not in KINDS:
            raise ConfigError(
                f"--target names nothing in the manifests: {shown(target)}{did_you_mean(kind, KINDS)}"
            )


def targeting_warning(targets: Iterable[str]) -> str:
    """What a targeted run says first: only part of the configuration is planned."""
    named = ", ".join(shown(t, 40) for t in list(targets)[:3])
    return (
        f"Warning: targeting is in effect ({named}): only these manifests and what they need are "
        "planned, nothing else is checked and nothing is pruned; plan without --target before merging."
    )
