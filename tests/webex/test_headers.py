"""Headers made without httpx's per-header normalization are httpx's own headers; aiohttp is
imported without making TLS contexts that load CA certificates, and nothing else changes."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.webex import headers as headers_module
from reconciler.webex.headers import byte_headers, triples

_NAME = st.text(st.sampled_from("abcXYZ-_0189"), min_size=1, max_size=12).map(str.encode)
_ASCII_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(str.encode)
_ANY_VALUE = st.binary(max_size=20).filter(lambda b: b"\r" not in b and b"\n" not in b)


def same(fast: httpx.Headers, slow: httpx.Headers) -> None:
    assert fast.raw == slow.raw and fast == slow
    assert fast.multi_items() == slow.multi_items()
    assert list(fast.keys()) == list(slow.keys())
    for name in {n.decode("latin-1") for n, _ in slow.raw}:
        assert fast.get_list(name) == slow.get_list(name) and fast[name.upper()] == slow[name]
    assert triples(fast) == [(n, n.lower(), v) for n, v in slow.raw]


def test_the_fast_construction_is_taken_with_the_httpx_installed() -> None:
    """(a change inside httpx turns it off, and this test says so: the public constructor then)"""
    assert headers_module.FAST


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_NAME, _ASCII_VALUE), max_size=8))
def test_request_headers_equal_httpx_own(pairs: list[tuple[bytes, bytes]]) -> None:
    fast, slow = byte_headers(pairs, "ascii"), httpx.Headers(pairs, encoding="ascii")
    same(fast, slow)
    assert fast.encoding == slow.encoding == "ascii"
    request = httpx.Request("GET", "http://x.test/", headers=fast)
    assert request.headers.raw == httpx.Request("GET", "http://x.test/", headers=slow).headers.raw


@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(_NAME, _ANY_VALUE), max_size=8))
def test_answer_headers_equal_httpx_own(pairs: list[tuple[bytes, bytes]]) -> None:
    fast, slow = byte_headers(pairs), httpx.Headers(pairs)
    assert fast.encoding == slow.encoding  # (guessed from the values, as httpx does)
    same(fast, slow)


def test_headers_made_fast_are_not_shared_by_copies() -> None:
    made = byte_headers([(b"Accept", b"application/json")], "ascii")
    response = httpx.Response(200, headers=made)
    response.headers["Accept"] = "text/plain"
    assert made["accept"] == "application/json"


def test_without_the_fast_construction_the_headers_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = [(b"Accept", b"application/json"), (b"X-A", b"1"), (b"x-a", b"2")]
    fast = byte_headers(pairs, "ascii")
    monkeypatch.setattr(headers_module, "FAST", False)
    slow = byte_headers(pairs, "ascii")
    same(fast, slow)
    assert triples(slow) == triples(fast)


_PROBE = """
import json, ssl
default_before = ssl.create_default_context
own_before = dict(vars(ssl.SSLContext))
import reconciler.webex
import aiohttp.connector as c
print(json.dumps({
    "cas_in_default": ssl.create_default_context().cert_store_stats()["x509_ca"],
    "restored": ssl.create_default_context is default_before and dict(vars(ssl.SSLContext)) == own_before,
    "aiohttp_verifies": c._SSL_CONTEXT_VERIFIED.verify_mode == ssl.CERT_REQUIRED
        and c._SSL_CONTEXT_VERIFIED.check_hostname,
    "aiohttp_cas": c._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"],
}))
"""


def test_aiohttp_is_imported_without_loading_ca_certificates_and_ssl_is_left_as_it_was() -> None:
    """Its default verifying context still verifies, against no CA (any use fails closed); the
    process's own ``ssl`` defaults load the system's CAs as before."""
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout)
    assert seen["restored"] and seen["aiohttp_verifies"]
    assert seen["aiohttp_cas"] == 0
    assert seen["cas_in_default"] > 0
