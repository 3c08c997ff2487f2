"""A content-addressed cache of what parsing and schema-checking a manifest file gives.

Loading 10,000 manifests is mostly YAML parsing (with a position for every key) and JSON Schema
validation, and both depend on nothing but the file's text. ``load_checked`` keeps, per file, the
resources, the load problems and the schema problems in ``.reconciler/parse-cache.bin``, keyed by
the sha256 of the file's path and text. The whole cache is keyed by a fingerprint of the code that
produces it (the reconciler's version, the cache format, the source of the parser and the
validator and the schemas, and the versions of Python, PyYAML, libyaml and jsonschema): any change
there and the cache is ignored and rebuilt.

Safe by construction:

- an entry is only ever what the parse would produce for exactly those bytes at that path;
- the file is authenticated with an HMAC whose key lives outside the repository (in the user's
  cache directory), so a cache file committed to a repository, or damaged, is ignored; one that
  git tracks is not even read (``reconciler.tracked``: local state is never reviewed input);
- its data is ``marshal``-ed plain values (no code runs on load), written to a temporary file and
  renamed over the old one (a reader never sees half a file);
- ``RECONCILER_PARSE_CACHE=off`` disables it (any other value is the cache file to use).

Cross-file (semantic) checks are never cached: they run on every load.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.metadata
import marshal
import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from reconciler import __version__
from reconciler.localfiles import LIMITS, UnreadableFile, make_parent, read_capped
from reconciler.manifests.positions import PackedPositions, interned, pack, unpack
from reconciler.model import Diagnostic, Resource, SecretRef
from reconciler.tracked import is_tracked

if TYPE_CHECKING:
    from reconciler.validation import fill

FORMAT = 2  # 2: diagnostics carry their code
MAGIC = b"RECONCILER-PARSE-CACHE\n"
DEFAULT_PATH = ".reconciler/parse-cache.bin"
ENV = "RECONCILER_PARSE_CACHE"
BACKGROUND_WRITE = 16 << 20  # bytes of cache from which it is written beside the next work
KEEP_GENERATIONS = 20  # an entry not used by the last 20 writes is dropped
_SECRET = "\x00fromEnv"  # a tuple tag: parsed manifests hold lists, never tuples
_CODE = (
    "manifests/load.py",
    "manifests/compose.py",
    "manifests/nodes.py",
    "manifests/blockyaml.py",
    "manifests/positions.py",
    "manifests/discovery.py",
    "localfiles.py",
    "validation/schema.py",
    "model.py",
    "textsafe.py",
    "validation/parse_cache.py",
)  # relative to the package's root


_located: list[Path] = []  # where ``located`` puts the cache for now (innermost last)


@contextlib.contextmanager
def located(path: Path) -> Iterator[None]:
    """Keep the cache at ``path`` while inside (``reconciler demo`` leaves nothing behind)."""
    _located.append(path)
    try:
        yield
    finally:
        _located.pop()


def cache_path() -> Path | None:
    value = os.environ.get(ENV, "")
    if _located and value.lower() not in ("off", "0", "no", "false"):
        return _located[-1]
    if value.lower() in ("off", "0", "no", "false"):
        return None
    return Path(value or DEFAULT_PATH)


def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "reconciler" / "parse-cache.key"


def _secret_key() -> bytes | None:
    """This user's key for the cache's HMAC (made on first use), or None when it cannot be kept."""
    path = _key_file()
    try:
        key = read_capped(path, LIMITS["cache key"])
        if len(key) == 32:
            return key
    except UnreadableFile:
        pass
    try:
        make_parent(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
        os.replace(tmp, path)
        key = read_capped(path, LIMITS["cache key"])
    except (OSError, UnreadableFile):
        return None
    return key if len(key) == 32 else None


_fingerprint: str | None = None


def fingerprint() -> str:
    """The version of everything a cached entry depends on."""
    global _fingerprint
    if _fingerprint is None:
        from reconciler.manifests.load import available_backends

        here = Path(__file__).resolve().parents[1]  # the package's root
        h = hashlib.sha256(f"{__version__}\0{FORMAT}\0{','.join(available_backends())}\0".encode())
        h.update(engines().encode())
        for name in _CODE:
            h.update((here / name).read_bytes())
        for schema in sorted((here / "schemas").glob("*.json")):
            h.update(schema.name.encode() + b"\0" + schema.read_bytes())
        _fingerprint = h.hexdigest()
    return f"{_fingerprint}:{os.environ.get('RECONCILER_YAML_BACKEND', '')}"


def engines() -> str:
    """The versions of what made a cached entry besides our own code: the Python that ran it, PyYAML
    and libyaml (the parse and its positions), jsonschema (the schema problems are its messages)."""
    libyaml = yaml._yaml.get_version_string() if getattr(yaml, "__with_libyaml__", False) else "none"
    try:
        checker = importlib.metadata.version("jsonschema")
    except importlib.metadata.PackageNotFoundError:
        checker = "unknown"
    python = f"{sys.implementation.name} {sys.version}"
    return f"{python}\0PyYAML {yaml.__version__}\0libyaml {libyaml}\0jsonschema {checker}\0"


# ----------------------------------------------------------------------------------------------
# entries: plain values only


class NotCacheable(Exception):
    pass


def _walk(value: Any, leaf: Any) -> Any:
    """``value`` with every scalar (or secret) replaced by ``leaf(scalar)``."""
    if isinstance(value, dict):
        return {k: _walk(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, leaf) for v in value]
    return leaf(value)


def _dec_leaf(value: Any) -> Any:
    return SecretRef(value[1]) if isinstance(value, tuple) else value


def _dec(value: Any) -> Any:
    return _walk(value, _dec_leaf)


_SCALARS = frozenset({type(None), bool, int, float})


def _entry_value(value: Any, secrets: list[bool]) -> Any:
    """``value`` as an entry holds it, in one walk: dict keys and short strings interned
    (``marshal`` writes them so, and ``marshal.loads`` gives every entry the same string objects:
    a key such as ``lineType`` is one object for 100,000 manifests, not 100,000), a secret as a
    tagged tuple (noted in ``secrets``); anything but plain data is not cacheable."""
    kind = type(value)
    if kind is dict:
        return {interned(k): v if type(v) in _SCALARS else _entry_value(v, secrets) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else _entry_value(v, secrets) for v in value]
    if kind is str:
        return interned(value)
    if kind is SecretRef:
        secrets.append(True)
        return (_SECRET, value.env)
    if kind in _SCALARS:
        return value
    raise NotCacheable(kind.__name__)


def encode(file: str, resources: list[Resource], diags: list[Diagnostic], checked: list[Diagnostic]) -> bytes:
    """One file's entry (raises ``NotCacheable`` for a value that is not plain data).

    Resources the block-YAML parser made (``PackedPositions``: its keys, pointers and short values
    are interned already) are written as they are, without a walk; one that holds a secret, or
    anything ``marshal`` cannot write, is written through ``_entry_value`` instead."""
    diag_rows = [_diag_row(d, file) for d in diags], [_diag_row(d, file) for d in checked]
    try:
        return marshal.dumps(([_entry(r, file, as_is=True) for r in resources], *diag_rows))
    except ValueError:
        pass  # a secret (or a value marshal cannot write) somewhere: the walk decides
    try:
        return marshal.dumps(([_entry(r, file, as_is=False) for r in resources], *diag_rows))
    except ValueError as exc:
        raise NotCacheable(str(exc)) from exc


def _entry(r: Resource, file: str, as_is: bool) -> tuple[Any, ...]:
    """A resource as an entry holds it; ``as_is``: its values unwalked when the parser made them."""
    if as_is and type(r.positions) is PackedPositions:
        meta, spec, secret = r.metadata, r.spec, False  # (a SecretRef makes marshal refuse)
        positions = dict.copy(r.positions)
    else:
        secrets: list[bool] = []
        meta, spec = _entry_value(r.metadata, secrets), _entry_value(r.spec, secrets)
        secret = bool(secrets)
        if isinstance(r.positions, PackedPositions):  # packed already
            positions = {interned(p): at for p, at in dict.items(r.positions)}
        else:
            positions = {interned(p): pack(at, file) for p, at in r.positions.items()}
    return (interned(r.kind), r.name, meta, spec, secret, pack(r.source, file), positions)


def _diag_row(d: Diagnostic, file: str) -> tuple[Any, ...]:
    return (pack(d.location, file), d.message, d.resource, d.severity, d.code)


def decode(file: str, data: bytes) -> tuple[list[Resource], list[Diagnostic], list[Diagnostic]]:
    res, diags, checked = marshal.loads(data)
    resources = []
    for kind, name, meta, spec, secret, source, positions in res:
        if secret:
            meta, spec = _dec(meta), _dec(spec)
        pos = PackedPositions(file, positions)
        src = unpack(source, file)
        assert src is not None
        resources.append(Resource(kind=kind, name=name, metadata=meta, spec=spec, source=src, positions=pos))

    def diag(v: Any) -> Diagnostic:
        return Diagnostic(unpack(v[0], file), v[1], v[2], v[3], v[4])

    return resources, [diag(d) for d in diags], [diag(d) for d in checked]


def entry_key(file: str, text: str) -> str:
    return hashlib.sha256(file.encode("utf-8", "surrogatepass") + b"\0" + text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------------
# the cache file


@dataclass
class ParseCache:
    path: Path | None
    key: bytes | None = None
    generation: int = 0
    entries: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # key -> (generation, entry)
    used: set[str] = field(default_factory=set)
    added: int = 0

    @classmethod
    def open(cls, path: Path | None) -> ParseCache:
        """The cache at ``path``; empty when there is none, it is damaged, foreign or outdated."""
        _written()
        if path is not None and is_tracked(str(path)):  # local state, never what a commit brings
            return cls(None, None)
        key = _secret_key() if path is not None else None
        cache = cls(path if key is not None else None, key)
        if cache.path is None:
            return cache
        try:
            # a regular file, size-capped: a FIFO, /dev/zero or a 3 GB file is no cache at all
            blob = read_capped(cache.path, LIMITS["parse cache"])
        except UnreadableFile:
            return cache
        head = len(MAGIC)
        mac, body = blob[head : head + 32], memoryview(blob)[head + 32 :]  # no copy of the body
        if not blob.startswith(MAGIC) or not hmac.compare_digest(mac, _mac(cache.key, body)):
            return cache
        try:
            stamp, generation, entries = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return cache
        if stamp != fingerprint() or not isinstance(entries, dict) or not isinstance(generation, int):
            return cache
        cache.generation, cache.entries = generation, entries
        return cache

    def get(self, file: str, text: str) -> tuple[list[Resource], list[Diagnostic], list[Diagnostic]] | None:
        return self.get_entry(file, entry_key(file, text))

    def get_entry(
        self, file: str, k: str
    ) -> tuple[list[Resource], list[Diagnostic], list[Diagnostic]] | None:
        """The entry under key ``k`` (``entry_key`` of the file's path and text), decoded."""
        found = self.entries.get(k)
        if found is None:
            return None
        try:
            out = decode(file, found[1])
        except (ValueError, EOFError, TypeError, IndexError, AssertionError):
            return None
        self.used.add(k)
        return out

    def put(
        self,
        file: str,
        text: str,
        resources: list[Resource],
        diags: list[Diagnostic],
        checked: list[Diagnostic],
        key: str | None = None,
    ) -> None:
        if self.path is None:
            return
        try:
            data = encode(file, resources, diags, checked)
        except NotCacheable:
            return
        self.add_entry(key or entry_key(file, text), data)

    def add_entry(self, k: str, data: bytes) -> None:
        """An entry made elsewhere (``encode`` in a helper process): kept as if made here."""
        self.entries[k] = (self.generation + 1, data)
        self.used.add(k)
        self.added += 1

    def save(self) -> None:
        """Write the cache when this load added to it (atomically; a failure only costs speed).
        The body is made here; for a large one (``BACKGROUND_WRITE``) its HMAC and the write run
        in a thread beside what follows the load (both let other Python code run: 0.45 s of
        0.85 s at 100,000 entries), and the next ``open`` in this process, like the process's
        exit, waits for them."""
        if self.path is None or self.key is None or not self.added:
            return
        gen = self.generation + 1
        kept = {
            k: (gen if k in self.used else g, data)
            for k, (g, data) in self.entries.items()
            if k in self.used or g > gen - KEEP_GENERATIONS
        }
        body = marshal.dumps((fingerprint(), gen, kept))
        if len(body) < BACKGROUND_WRITE:
            _write(self.path, self.key, body)
        else:
            writer = threading.Thread(target=_write, args=(self.path, self.key, body), name="parse-cache")
            _writing.append(writer)
            writer.start()
        self.generation, self.entries, self.added = gen, kept, 0


_writing: list[threading.Thread] = []  # cache writes under way (not daemons: an exit waits)


def _written() -> None:
    """Wait for the cache writes under way."""
    while _writing:
        _writing.pop().join()


def _write(path: Path, key: bytes, body: bytes) -> None:
    with contextlib.suppress(OSError):
        make_parent(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".parse-cache-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC + _mac(key, body))
                fh.write(body)  # not concatenated: the body can be hundreds of MB
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _mac(key: bytes | None, body: bytes | memoryview) -> bytes:
    return hmac.new(key or b"", body, hashlib.sha256).digest()


# file -> the first 64 bits of the entry key of the text the last load of it read (an int is a
# quarter of the key's size), for ``loaded_text_is``; kept only inside ``remembering`` (~9 MB at
# 100,000 files: a plan without a baseline does not hold them)
_loaded: dict[str, int] = {}


def loaded_text_is(file: str, text: str) -> bool | None:
    """Whether ``text`` is the text of ``file`` as this process last loaded it (None: not loaded).
    A changed-only plan compares the baseline's files with what the pull request's load read."""
    known = _loaded.get(file)
    return None if known is None else int(entry_key(file, text)[:16], 16) == known


_remembering: list[bool] = []


@contextlib.contextmanager
def remembering(enabled: bool = True) -> Iterator[None]:
    """While open (and ``enabled``), loads remember their texts for ``loaded_text_is``."""
    _remembering.append(enabled)
    try:
        yield
    finally:
        _remembering.pop()
        if not any(_remembering):
            _loaded.clear()


def _remember(file: str, key: str) -> str:
    if any(_remembering):
        _loaded[file] = int(key[:16], 16)
    return key


def load_checked(files: Sequence[str]) -> tuple[list[Resource], list[Diagnostic], list[Diagnostic]]:
    """(resources, load problems, schema problems) of ``files``, in file order, from the cache where
    a file's text is unchanged; the rest parsed and checked (a large batch shared with helper
    processes: ``reconciler.validation.fill``), and the cache updated."""
    from reconciler.manifests.discovery import read_manifest
    from reconciler.validation import fill

    cache = ParseCache.open(cache_path())
    helpers = fill.workers_for(len(files) - len(cache.entries))
    started: dict[str, fill.Helper] = {}
    for n in range(1, helpers + 1):  # the parent keeps the first share
        share = list(files[len(files) * n // (helpers + 1) : len(files) * (n + 1) // (helpers + 1)])
        helper = fill.Helper((share, list(cache.entries)))
        started.update((file, helper) for file in share)
    resources: list[Resource] = []
    diags: list[Diagnostic] = []
    checked: list[Diagnostic] = []
    try:
        for file in files:
            hit = _from_helper(cache, file, started[file]) if file in started else None
            if hit is None:
                text, problem = read_manifest(file)
                if text is None:
                    diags.extend([problem] if problem is not None else [])
                    continue
                key = _remember(file, entry_key(file, text))
                hit = cache.get_entry(file, key) or _parsed(cache, file, text, key)
            resources.extend(hit[0])
            diags.extend(hit[1])
            checked.extend(hit[2])
    finally:
        for helper in set(started.values()):
            helper.stop()
    cache.save()
    return resources, diags, checked


def _from_helper(
    cache: ParseCache, file: str, helper: fill.Helper
) -> tuple[list[Resource], list[Diagnostic], list[Diagnostic]] | None:
    """What a helper process made of ``file`` (None: it made nothing, the parent reads it)."""
    got = helper.answer().get(file)
    if not isinstance(got, tuple) or len(got) != 2 or not isinstance(got[0], str):
        return None
    key, entry = got
    _remember(file, key)
    if isinstance(entry, bytes) and key not in cache.entries:
        cache.add_entry(key, entry)
    return cache.get_entry(file, key)


def _parsed(
    cache: ParseCache, file: str, text: str, key: str
) -> tuple[list[Resource], list[Diagnostic], list[Diagnostic]]:
    res, more, found = _checked(text, file)
    cache.put(file, text, res, more, found, key=key)
    return res, more, found


def _checked(text: str, file: str) -> tuple[list[Resource], list[Diagnostic], list[Diagnostic]]:
    """A file's resources, load problems and schema problems: what an entry holds."""
    from reconciler.manifests import load as manifests
    from reconciler.validation import schema

    res, more = manifests.load_text(text, file)
    return res, more, schema.validate_resources(res)


def serve() -> None:
    """A helper process's side (``reconciler.validation.fill``): on stdin the files to read and
    the keys the cache holds already; on stdout, for each file read, its entry key and its entry
    (None where the cache has it)."""
    import gc

    from reconciler.manifests.discovery import read_manifest

    gc.disable()  # a short-lived process whose every object lives to its end (``runtime.loading``)
    files, cached = marshal.loads(sys.stdin.buffer.read())
    known = set(cached)
    out: dict[str, tuple[str, bytes | None]] = {}
    for file in files:
        text, _ = read_manifest(file)
        if text is None:
            continue  # the parent reads it again, and says why it cannot
        key = entry_key(file, text)
        if key in known:
            out[file] = (key, None)
            continue
        with contextlib.suppress(NotCacheable):
            out[file] = (key, encode(file, *_checked(text, file)))
    sys.stdout.buffer.write(marshal.dumps(out))
    sys.stdout.buffer.flush()
