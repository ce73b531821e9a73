"""docs/asyncapi.yaml documents every subject, with the schemas the contracts have today."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from shared.contracts import (
    EVENT_MODELS,
    LIVE_BROADCAST,
    LIVE_CONNECTIONS,
    LIVE_SERVICE_HEARTBEAT,
    LIVE_VIEWING,
    LiveConnectionsMessage,
    LiveViewingMessage,
    ServiceHeartbeat,
)
from shared.contracts.live import FrameHeaders

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "asyncapi.yaml"
REGENERATE = "docs/asyncapi.yaml is stale: run `python docs/gen_asyncapi.py > docs/asyncapi.yaml`"
REF_TEMPLATE = "#/components/schemas/{model}"
LIVE_ADDRESSES = {"live.room.{room_id}", "live.user.{user_id}", LIVE_BROADCAST,
                  LIVE_CONNECTIONS, LIVE_SERVICE_HEARTBEAT, "live.broadcast.receipts",
                  LIVE_VIEWING, "rpc.presence.users"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return yaml.safe_load(DOC.read_text())


@pytest.fixture(scope="module")
def generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_asyncapi", ROOT / "docs" / "gen_asyncapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _channel(doc: dict[str, Any], address: str) -> dict[str, Any]:
    (channel,) = [c for c in doc["channels"].values() if c["address"] == address]
    return channel


def _message(doc: dict[str, Any], channel: dict[str, Any]) -> dict[str, Any]:
    (ref,) = [m["$ref"] for m in channel["messages"].values()]
    return doc["components"]["messages"][ref.rsplit("/", 1)[-1]]


def _assert_schema_matches(doc: dict[str, Any], documented: dict[str, Any],
                           current: dict[str, Any], what: str) -> None:
    defs = current.pop("$defs", {})
    assert documented == current, f"{what}: schema differs from the model. {REGENERATE}"
    for name, sub in defs.items():
        assert doc["components"]["schemas"].get(name) == sub, f"{what}/{name}: {REGENERATE}"


def test_is_asyncapi_3(doc: dict[str, Any]) -> None:
    assert doc["asyncapi"].startswith("3.0")
    for op in doc["operations"].values():
        assert op["channel"]["$ref"].removeprefix("#/channels/") in doc["channels"]


def test_documents_exactly_the_event_and_live_subjects(doc: dict[str, Any]) -> None:
    documented = {channel["address"] for channel in doc["channels"].values()}
    expected = {spec.subject for spec in EVENT_MODELS} | LIVE_ADDRESSES
    assert documented == expected, REGENERATE


@pytest.mark.parametrize("spec", EVENT_MODELS, ids=lambda spec: spec.model.__name__)
def test_event_schema_is_the_model_schema(doc: dict[str, Any], spec: Any) -> None:
    message = _message(doc, _channel(doc, spec.subject))
    assert message["name"] == spec.model.__name__
    assert message["x-cloudevents-type"] == spec.type
    envelope = message["payload"]["schema"]
    assert envelope["properties"]["type"]["const"] == spec.type
    assert {"id", "source", "type", "time", "data"} <= set(envelope["required"])
    _assert_schema_matches(doc, envelope["properties"]["data"],
                           spec.model.model_json_schema(ref_template=REF_TEMPLATE),
                           spec.model.__name__)


def test_live_connections_schema_is_the_union(doc: dict[str, Any]) -> None:
    payload = _message(doc, _channel(doc, LIVE_CONNECTIONS))["payload"]["schema"]
    current = TypeAdapter(LiveConnectionsMessage).json_schema(ref_template=REF_TEMPLATE)
    _assert_schema_matches(doc, payload, current, LIVE_CONNECTIONS)
    assert set(payload["discriminator"]["mapping"]) == {
        "opened", "closed", "activity", "status", "heartbeat"}


def test_live_viewing_schema_is_the_union(doc: dict[str, Any]) -> None:
    payload = _message(doc, _channel(doc, LIVE_VIEWING))["payload"]["schema"]
    current = TypeAdapter(LiveViewingMessage).json_schema(ref_template=REF_TEMPLATE)
    _assert_schema_matches(doc, payload, current, LIVE_VIEWING)
    assert set(payload["discriminator"]["mapping"]) == {"user", "heartbeat"}


def test_service_heartbeat_schema(doc: dict[str, Any]) -> None:
    payload = _message(doc, _channel(doc, LIVE_SERVICE_HEARTBEAT))["payload"]["schema"]
    current = ServiceHeartbeat.model_json_schema(ref_template=REF_TEMPLATE)
    _assert_schema_matches(doc, payload, current, LIVE_SERVICE_HEARTBEAT)


@pytest.mark.parametrize("address", ["live.room.{room_id}", "live.user.{user_id}", LIVE_BROADCAST])
def test_frame_subjects_document_every_frame_header(doc: dict[str, Any], address: str) -> None:
    message = _message(doc, _channel(doc, address))
    header_names = {value for name, value in vars(FrameHeaders).items()
                    if name.isupper() and isinstance(value, str)}
    assert set(message["headers"]["properties"]) == header_names, REGENERATE
    assert message["payload"]["schema"]["required"] == ["type"]


def test_committed_file_is_the_generator_output(doc: dict[str, Any], generator: Any) -> None:
    assert doc == generator.build(), REGENERATE
