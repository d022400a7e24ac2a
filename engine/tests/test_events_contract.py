"""The events contract: the engine emits exactly the events the CLI defines (src/engine/events.ts).

Every event emitted during the engine's tests is validated against events.schema.json (conftest.py
sets KIELO_CHECK_EVENTS); here: the check is really on, and every event type the CLI defines is
emitted somewhere in the engine."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import pytest

from kielo_engine import events as events_module
from kielo_engine.events import SCHEMA_PATH, EventLog, print_event

ENGINE = Path(events_module.__file__).resolve().parent


def schema() -> dict:
    return json.loads(Path(SCHEMA_PATH).read_text(encoding="utf-8"))


def test_the_schema_is_a_valid_json_schema_with_one_entry_per_type():
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    types = [option["properties"]["type"]["const"] for option in s["oneOf"]]
    assert len(types) == len(set(types))
    assert {"start", "step", "eval", "checkpoint", "done", "error", "progress"} <= set(types)


def test_every_event_type_the_cli_defines_is_emitted_by_the_engine():
    source = "\n".join(p.read_text(encoding="utf-8") for p in ENGINE.glob("*.py"))
    emitted = set(re.findall(r'emit\(\s*"([a-z_]+)"', source)) | set(re.findall(r'"type":\s*"([a-z_]+)"', source))
    types = {option["properties"]["type"]["const"] for option in schema()["oneOf"]}
    assert types - emitted == set(), "types the CLI knows but the engine never emits"
    assert emitted - types == set(), "types the engine emits but the CLI does not know"


def test_an_event_the_cli_does_not_know_fails_when_emitted():
    log = EventLog(None, stdout=io.StringIO())
    log.emit("step", step=1, loss=0.5, lr=1e-3, grad_norm=1.0, tokens=10, trained_tokens=5, tokens_per_s=None)
    with pytest.raises(jsonschema.ValidationError, match="bogus"):
        log.emit("step", step=1, loss=0.5, lr=1e-3, grad_norm=1.0, tokens=10, tokens_per_s=None, bogus=1)
    with pytest.raises(jsonschema.ValidationError):
        print_event({"type": "progress", "done": "three", "total": 4}, stdout=io.StringIO())
    with pytest.raises(jsonschema.ValidationError):
        print_event({"type": "no-such-event"}, stdout=io.StringIO())
