"""data/spec_schemas.json is what gen_spec_schemas makes of the official spec."""

from __future__ import annotations

import json

from reconciler.sim import gen_spec_schemas, validation

from .conftest import Spec


def test_shipped_schemas_are_up_to_date(spec: Spec) -> None:
    shipped = json.loads(gen_spec_schemas.OUT.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(gen_spec_schemas.generate(spec.docs["device"])))


def test_shipped_schemas_keep_no_prose() -> None:
    text = gen_spec_schemas.OUT.read_text(encoding="utf-8")
    assert '"description"' not in text and '"example"' not in text
    assert "PUT /v1/telephony/config/devices/{deviceId}/members" in validation.operations()
