"""Checks on the values a manifest holds that a schema cannot express, run with the schema checks.

- numbers: ``.inf`` / ``.nan`` and integers beyond 32 bits are refused (a saved plan would hold
  ``Infinity``; the API takes neither);
- names, references and labels: control, zero-width and bidi characters are refused (a ``\\r``
  rewrites the terminal line it is shown on, a bidi override makes a reviewer read another name),
  and so are names mixing Latin, Cyrillic or Greek letters; two different names that only look
  alike (``Sales`` written in Cyrillic letters and ``Sales``) are a warning naming both;
- any other string: control characters other than tab and newline are refused;
- ``fromEnv`` references whose variable is not set (``unset_env``), checked before ``apply``
  sends its first request.

``tidy`` makes every diagnostic safe to print: echoed values cut, invisible characters escaped.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.manifests.load import escape_pointer, label_of
from reconciler.model import Diagnostic, Resource, SecretRef
from reconciler.textsafe import clip, is_invisible, shown, visible
from reconciler.validation.schema import field_name

__all__ = ["MAX_INT", "MAX_MESSAGE", "check", "skeleton", "tidy", "unset_env"]

MAX_INT = 2**31 - 1  # every integer the API takes (indexes, ports, timers) fits in 32 bits
MAX_MESSAGE = 400  # characters of one diagnostic message
MAX_LABEL = 120  # characters of the Kind/name a diagnostic names

# Fields naming something (an identity or a reference to one) or shown on a phone as a label.
IDENTITY = frozenset(
    {
        "name", "location", "locations", "person", "workspace", "virtualLine", "template",
        "deviceModel", "fileName", "mac", "uploadDevice", "includeDeviceTags", "excludeDeviceTags",
    }
)  # fmt: skip
LABELS = frozenset(
    {"lineLabel", "lineKeyLabel", "kemKeyLabel", "lineKeyValue", "kemKeyValue", "hotlineDestination"}
)
# Free-form settings subtrees: any string there is a setting's value.
FREE = ("/spec/settings", "/spec/customizations")
CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})

# Letters that look like a Latin letter (lower case after casefold), for the look-alike warning:
# (look-alike, Latin letter) pairs, written as escapes so that the source shows what they are.
# fmt: off
_LOOKALIKES = (
    # Cyrillic
    ("\u0430", "a"), ("\u0432", "b"), ("\u0435", "e"), ("\u0451", "e"), ("\u043a", "k"), ("\u043c", "m"),
    ("\u043d", "h"), ("\u043e", "o"), ("\u0440", "p"), ("\u0441", "c"), ("\u0442", "t"), ("\u0443", "y"),
    ("\u0445", "x"), ("\u0455", "s"), ("\u0456", "i"), ("\u0457", "i"), ("\u0458", "j"), ("\u0501", "d"),
    ("\u04bb", "h"), ("\u04cf", "l"), ("\u051b", "q"), ("\u051d", "w"), ("\u044c", "b"), ("\u0433", "r"),
    ("\u043f", "n"),
    # Greek
    ("\u03b1", "a"), ("\u03b2", "b"), ("\u03b5", "e"), ("\u03b6", "z"), ("\u03b7", "n"), ("\u03b9", "i"),
    ("\u03ba", "k"), ("\u03bc", "m"), ("\u03bd", "v"), ("\u03bf", "o"), ("\u03c1", "p"), ("\u03c4", "t"),
    ("\u03c5", "u"), ("\u03c7", "x"), ("\u03b3", "y"), ("\u03c9", "w"),
    # Armenian
    ("\u0585", "o"), ("\u057d", "u"), ("\u0570", "h"), ("\u0581", "g"), ("\u0566", "q"),
    # Latin look-alikes and digits
    ("\u0131", "i"), ("\u2113", "l"), ("0", "o"), ("1", "l"),
)
# fmt: on
_HOMOGLYPHS = str.maketrans(dict(_LOOKALIKES))
Found = tuple[str, str, Any]  # a scalar's JSON pointer, the key it is under, its value


def skeleton(text: str) -> str:
    """What ``text`` looks like: compatibility-normalized, case-folded, look-alike letters mapped
    to the Latin letter they resemble, invisible characters dropped."""
    if text.isascii() and text.isprintable():  # the common case, the same result sooner
        return text.lower().translate(_HOMOGLYPHS)
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not is_invisible(ch)).translate(_HOMOGLYPHS)


def _scripts(text: str) -> list[str]:
    seen: list[str] = []
    for ch in text:
        if ch.isalpha():
            script = unicodedata.name(ch, "").split(" ", 1)[0]
            if script in CONFUSABLE_SCRIPTS and script not in seen:
                seen.append(script)
    return seen


def _collect(
    node: Any, path: tuple[str, ...], key: str, keep: Callable[[str, Any], bool], out: list[Found]
) -> None:
    """Into ``out``: (pointer, the key it is under, value) of every scalar under ``node`` that
    ``keep(key, value)`` accepts, in document order; list items carry their list's key. Pointers
    are built only for the scalars kept (most are not: building one per scalar was most of the
    cost of these checks on a big repository)."""
    kind = type(node)
    if kind is dict:
        for k, v in node.items():
            sk = k if type(k) is str else str(k)
            tv = type(v)
            if tv is dict or tv is list:
                _collect(v, (*path, sk), sk, keep, out)
            elif tv is not bool and v is not None and keep(sk, v):
                out.append((_pointer((*path, sk)), sk, v))
    elif kind is list:
        for i, v in enumerate(node):
            tv = type(v)
            if tv is dict or tv is list:
                _collect(v, (*path, str(i)), key, keep, out)
            elif tv is not bool and v is not None and keep(key, v):
                out.append((_pointer((*path, str(i))), key, v))
    elif node is not None and type(node) is not bool and keep(key, node):
        out.append((_pointer(path), key, node))


def _pointer(path: tuple[str, ...]) -> str:
    return "".join("/" + escape_pointer(part) for part in path)


def _scalars(res: Resource, keep: Callable[[str, Any], bool]) -> list[Found]:
    out: list[Found] = []
    _collect(res.metadata, ("metadata",), "", keep, out)
    _collect(res.spec, ("spec",), "", keep, out)
    return out


# Keys whose every string is looked at (names and references are grouped for look-alikes; a SIP
# password's strength is checked); any other string only when it holds something unprintable.
_LOOKED_AT = IDENTITY | {"sipPassword"}


def _worth_checking(key: str, value: Any) -> bool:
    """Whether ``_Checker`` could say anything of this scalar (the rest pass unlooked at)."""
    if isinstance(value, str):
        return key in _LOOKED_AT or not value.isprintable()
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int):
        return abs(value) > MAX_INT
    return False


def _is_secret_ref(key: str, value: Any) -> bool:
    return isinstance(value, SecretRef)


Seen = tuple[str, Resource, str]  # a value, its resource, its pointer


def _plainest(group: list[Seen]) -> Seen:
    """The value of a look-alike group most likely meant: the fewest non-ASCII characters."""
    return min(group, key=lambda g: sum(not ch.isascii() for ch in g[0]))


class _Checker:
    def __init__(self) -> None:
        self.out: list[Diagnostic] = []
        self.names: dict[str, list[Seen]] = {}  # skeleton -> distinct (case-folded) names
        self.mixed: list[Seen] = []

    def add(self, res: Resource, ptr: str, message: str, severity: str = "error") -> None:
        text = f"{field_name(ptr)}: {message}"
        self.out.append(Diagnostic(res.loc(ptr), text, label_of(res), severity, code="input"))

    def number(self, res: Resource, ptr: str, value: Any) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            self.add(res, ptr, f"{shown(value)} is not a number the API takes (write a finite number)")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            self.add(res, ptr, f"{shown(value)} is out of range (at most {MAX_INT} either side of 0)")

    def string(self, res: Resource, ptr: str, key: str, value: str) -> None:
        free = ptr.startswith(FREE) or key not in IDENTITY | LABELS
        if value.isprintable():  # the common case: nothing invisible in it
            bad: list[str] = []
        elif free:
            bad = [ch for ch in value if unicodedata.category(ch) == "Cc" and ch not in "\t\n"]
        else:
            bad = [ch for ch in value if is_invisible(ch)]
        if bad:
            what = ", ".join(dict.fromkeys(repr(ch)[1:-1] for ch in bad))
            kind = "control characters" if free else "control, zero-width or bidi characters"
            self.add(res, ptr, f"{shown(value)} holds {kind} ({clip(what, 40)}): remove them")
            return
        if free or key not in IDENTITY:
            return
        if not value.isascii() and len(_scripts(value)) > 1:
            self.mixed.append((value, res, ptr))
            return
        group = self.names.setdefault(skeleton(value), [])
        if all(g[0].casefold() != value.casefold() for g in group):  # case alone is no look-alike
            group.append((value, res, ptr))

    def look_alikes(self) -> None:
        for value, res, ptr in self.mixed:
            group = self.names.get(skeleton(value))
            like = _plainest(group) if group else None
            hint = f"; it looks like {shown(like[0])} ({like[1].loc(like[2])})" if like else ""
            mixed = " and ".join(s.title() for s in _scripts(value))
            self.add(res, ptr, f"{shown(value)} mixes {mixed} letters{hint}: write it in one script")
        for group in self.names.values():
            if len(group) < 2:
                continue
            meant = _plainest(group)
            for value, res, ptr in group:
                if value != meant[0]:
                    self.add(
                        res,
                        ptr,
                        f"{shown(value)} looks like {shown(meant[0])} ({meant[1].loc(meant[2])}) "
                        "but is a different name: check which one is meant",
                        "warning",
                    )


def check(resources: Sequence[Resource]) -> list[Diagnostic]:
    """Problems of the values in ``resources`` (see the module's doc). Never raises."""
    c = _Checker()
    for res in resources:
        for ptr, key, value in _scalars(res, _worth_checking):
            if isinstance(value, str):
                c.string(res, ptr, key, value)
                if key == "sipPassword" and weak_sip_password(value):
                    c.add(res, ptr, str(weak_sip_password(value)))
            elif not isinstance(value, SecretRef):
                c.number(res, ptr, value)
    c.look_alikes()
    return c.out


def weak_sip_password(value: str) -> str | None:
    """Why the API would refuse ``value`` as a device's SIP password (None: it would take it).
    The message never contains the value."""
    if len(value) < 8:
        return "the API refuses a SIP password shorter than 8 characters"
    if not any(ch.isdigit() for ch in value) or not any(ch.isalpha() for ch in value):
        return "the API refuses a SIP password without both letters and digits"
    return None


def unset_env(
    resources: Sequence[Resource], environ: Mapping[str, str], severity: str = "error"
) -> list[Diagnostic]:
    """One diagnostic per ``{fromEnv: NAME}`` whose variable is not set in ``environ``, or whose
    value the API would refuse (a weak ``sipPassword``; the value itself is never shown)."""
    out: list[Diagnostic] = []
    for res in resources:
        for ptr, key, value in _scalars(res, _is_secret_ref):
            assert isinstance(value, SecretRef)
            problem = None
            if value.env not in environ:
                problem = f"environment variable {value.env} is not set (fromEnv)"
            elif key == "sipPassword":
                weak = weak_sip_password(environ[value.env])
                problem = f"the value of {value.env}: {weak}" if weak else None
                if problem:  # set and refused by the API: an error even where unset is a warning
                    text = f"{field_name(ptr)}: {problem}"
                    out.append(Diagnostic(res.loc(ptr), text, label_of(res), code="input"))
                    continue
            if problem:
                text = f"{field_name(ptr)}: {problem}"
                out.append(Diagnostic(res.loc(ptr), text, label_of(res), severity, code="input"))
    return out


def tidy(diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """Each diagnostic safe to print: invisible characters escaped, message and name cut."""
    out = []
    for d in diagnostics:
        message = clip(visible(d.message), MAX_MESSAGE)
        resource = clip(visible(d.resource), MAX_LABEL) if d.resource else d.resource
        same = (message, resource) == (d.message, d.resource)
        out.append(d if same else replace(d, message=message, resource=resource))
    return out
