"""Every integer every service takes over HTTP, set to 2^63: always a 422 problem, never a 5xx.

The routes come from each service's own OpenAPI document, so a route added later is walked
too; each integer (path, query, or a JSON body's field at any depth) is tried on its own, the
rest of the request valid, with an administrator's token so authorization never answers first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.four_services import SERVICES, running

pytestmark = pytest.mark.integration

TOO_BIG = 2**63
TARGET = object()  # where the walk puts TOO_BIG


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _choices(schema: dict[str, Any]) -> list[dict[str, Any]]:
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return [o for o in options if o.get("type") != "null"]
    if "allOf" in schema:
        return [schema["allOf"][0]]
    return [schema]


def _int_slots(schema: dict[str, Any], spec: dict[str, Any],
               at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Where integers sit in a JSON schema: each a path of keys and list indexes."""
    schema = _resolve(schema, spec)
    for option in _choices(schema):
        option = _resolve(option, spec)
        kind = option.get("type")
        if kind == "integer":
            yield at
        elif kind == "object":
            for name, sub in option.get("properties", {}).items():
                yield from _int_slots(sub, spec, (*at, name))
        elif kind == "array":
            yield from _int_slots(option.get("items", {}), spec, (*at, 0))
        if option is not schema and kind is not None:
            return  # the first non-null choice is the one the walk fills


def _example(schema: dict[str, Any], spec: dict[str, Any], target: tuple[Any, ...] | None,
             at: tuple[Any, ...] = ()) -> Any:
    """A valid value of `schema`, except TOO_BIG at `target`."""
    schema = _resolve(schema, spec)
    option = _resolve(_choices(schema)[0], spec)
    if "const" in option:
        return option["const"]
    if "enum" in option:
        return option["enum"][0]
    kind = option.get("type")
    if kind == "integer":
        return TOO_BIG if at == target else max(1, option.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "string":
        return "x" * max(1, option.get("minLength", 1))
    if kind == "array":
        return [_example(option.get("items", {}), spec, target, (*at, 0))]
    if kind == "object":
        return {name: _example(sub, spec, target, (*at, name))
                for name, sub in option.get("properties", {}).items()}
    return "x"


def _requests(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(what, method, url, httpx kwargs): one request per integer of every operation."""
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            params = op.get("parameters", [])
            body_schema = (op.get("requestBody", {}).get("content", {})
                           .get("application/json", {}).get("schema"))
            targets: list[tuple[str, Any]] = [
                ("param", p["name"]) for p in params
                if any(o.get("type") == "integer" for o in _choices(p["schema"]))]
            if body_schema is not None:
                targets += [("body", slot) for slot in _int_slots(body_schema, spec)]
            for kind, where in targets:
                url, query = path, {}
                for p in params:
                    is_target = kind == "param" and p["name"] == where
                    if not (is_target or p.get("required")):
                        continue
                    value = TOO_BIG if is_target else _example(p["schema"], spec, None)
                    if p["in"] == "path":
                        url = url.replace("{" + p["name"] + "}", str(value))
                    elif p["in"] == "query":
                        query[p["name"]] = value
                kwargs: dict[str, Any] = {"params": query}
                if body_schema is not None:
                    kwargs["json"] = _example(body_schema, spec,
                                              where if kind == "body" else None)
                yield f"{method.upper()} {path} {kind} {where}", method, url, kwargs


@pytest.mark.parametrize("service", SERVICES)
async def test_every_integer_of_every_route_refuses_2_to_the_63(
        service: str, tmp_path: Path, nats_url: str) -> None:
    async with running(service, tmp_path, nats_url) as svc, svc.client() as http:
        spec = (await http.get("/openapi.json")).json()
        tried = []
        for what, method, url, kwargs in _requests(spec):
            response = await http.request(method, url, **kwargs)
            tried.append(what)
            assert response.status_code == 422, (what, response.status_code, response.text)
            assert response.headers["content-type"] == "application/problem+json", what
            assert response.json()["code"] == "validation_error", what
        expected = {
            "chat": {"GET /api/chat/rooms/{room_id} param room_id",
                     "GET /api/chat/rooms/{room_id}/messages param after_seq",
                     "POST /api/chat/rooms/{room_id}/read body ('seq',)"},
            "presence": {"GET /api/presence/users/{user_id} param user_id",
                         "GET /api/presence param limit"},
            "notifications": {"PUT /api/notifications/preferences body ('rooms', 0, 'room_id')",
                              "GET /api/notifications/decisions param message_id"},
            # The dashboard takes no integer from a request.
            "dashboard": set(),
        }[service]
        assert expected <= set(tried), tried
