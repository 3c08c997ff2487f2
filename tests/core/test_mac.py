"""MAC addresses as the tool compares them: every written form to twelve upper-case hex digits."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from reconciler.model import normalize_mac

_SPELLED = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}$")


def _by_the_pattern(value: str) -> str | None:
    text = value.strip()
    return text.replace(":", "").replace("-", "").upper() if _SPELLED.match(text) else None


HEX = "0123456789abcdefABCDEF"
macs = st.builds(
    lambda digits, sep, pad: pad + sep.join(digits[i : i + 2] for i in range(0, 12, 2)) + pad,
    st.text(HEX, min_size=12, max_size=12),
    st.sampled_from(["", ":", "-"]),
    st.sampled_from(["", " ", "\n"]),
)
near = st.text("0123456789ABCDEFG:- x\n", max_size=20)
# seventeen characters with a colon at every third place: the fast path's own form, and its misses
colons = st.lists(st.text("0123456789ABCDEFa:", min_size=2, max_size=2), min_size=6, max_size=6).map(":".join)


@given(st.one_of(macs, near, colons, st.text(max_size=20)))
def test_every_form_reads_as_the_pattern_says(value: str) -> None:
    assert normalize_mac(value) == _by_the_pattern(value)


def test_the_usual_forms() -> None:
    assert normalize_mac("20:94:5E:00:14:64") == "20945E001464"
    assert normalize_mac("20945E001464") == "20945E001464"
    assert normalize_mac("20-94-5e-00-14-64") == "20945E001464"
    assert normalize_mac(" 20945e001464 ") == "20945E001464"
    bad_ones = ("20945E00146", "20945E0014G4", "20:94:5E:00:14:6", "20:945E:00:14:64:", "2:094:5E:00:14:64")
    for bad in (*bad_ones, "AA:BB:CC:DD:EE:F:", "AA:BB:CC:DD:EE::F", "AA:BB:CC:DD::E:FF"):
        assert normalize_mac(bad) is None, bad
