"""Which write-only secrets the applies of this working directory wrote, and with which declaration.

The API never returns a ``sipPassword``, so after an apply wrote one, nothing live tells a new plan
that it was written. This record does: next to the apply log (``.reconciler/secrets-written.json``
by default), one entry per device and API that an apply wrote a secret to, holding a salted digest
of the declaration's reference (``env:NAME``, or a digest of a literal: never a value) and when.

A plan reads it to leave out a write that was already made with the same declaration, and to write
one whose declaration changed since. It can only make a plan write less than the baseline alone
would (or write a declaration that changed since it was written): nothing in it names a request
to send. A missing, unreadable or damaged record is no record (the baseline decides, as before).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.localfiles import UnreadableFile, make_parent, read_capped

RECORD_NAME = "secrets-written.json"
RECORD_VERSION = 1
MAX_RECORD_BYTES = 4 * 1024 * 1024  # about 20,000 entries


def record_path(log_path: str | os.PathLike[str]) -> Path:
    """The record kept beside an apply log."""
    return Path(log_path).with_name(RECORD_NAME)


def _digest(salt: str, ref: str) -> str:
    return hashlib.sha256(f"{salt}\0{ref}".encode()).hexdigest()


@dataclass(frozen=True)
class LastWrite:
    """What the record says about one secret: whether the declaration is the one written, and when."""

    same: bool
    when: str  # ``2026-05-04 10:12 UTC``


@dataclass
class SecretRecord:
    """The record of one API (base URL and org): its entries by device path."""

    path: Path
    scope: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, scope: str) -> SecretRecord:
        record = cls(path, scope)
        try:
            data = json.loads(read_capped(path, MAX_RECORD_BYTES).decode("utf-8"))
        except (OSError, UnreadableFile, ValueError, RecursionError):
            return record
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            return record
        scoped = (data.get("scopes") or {}).get(scope) if isinstance(data.get("scopes"), dict) else None
        if isinstance(scoped, dict):
            record.entries = {
                k: v
                for k, v in scoped.items()
                if isinstance(v, dict)
                and all(isinstance(v.get(f), str) for f in ("salt", "digest"))
                and isinstance(v.get("at"), int | float)
            }
        return record

    def last_write(self, key: str, ref: str) -> LastWrite | None:
        """The last recorded write of the secret at ``key`` (a device's API path), compared with the
        reference declared now; None when this directory never recorded one."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(entry["at"])))
        return LastWrite(_digest(str(entry["salt"]), ref) == entry["digest"], when)

    def remember(self, written: dict[str, str]) -> None:
        """Record the secrets just written (device path -> reference) and save the record."""
        if not written:
            return
        now = round(time.time(), 3)
        for key, ref in written.items():
            salt = secrets.token_hex(16)
            self.entries[key] = {"salt": salt, "digest": _digest(salt, ref), "at": now}
        self._save()

    def _save(self) -> None:
        try:
            data = json.loads(read_capped(self.path, MAX_RECORD_BYTES).decode("utf-8"))
        except (OSError, UnreadableFile, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            data = {"version": RECORD_VERSION, "scopes": {}}
        if not isinstance(data.get("scopes"), dict):
            data["scopes"] = {}
        data["scopes"][self.scope] = self.entries
        make_parent(self.path)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{RECORD_NAME}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, sort_keys=True, indent=1)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def scope_of(base_url: str, org_id: str | None) -> str:
    """The API a record's entries belong to: its base URL and the org named (if any)."""
    return f"{base_url} {org_id or ''}".strip()
