"""One table of public routes (infra/routes.yaml); the Caddyfile, the HTTPRoute, the Ingress and
the docs each route exactly those paths to exactly those services, so none of them drifts."""

from __future__ import annotations

import pytest

from tests.unit.deploy import routes


def test_the_table_names_each_service_and_no_path_twice() -> None:
    table = routes.table()
    assert {service for service, _, _ in table} == {"chat", "presence", "notifications",
                                                   "dashboard"}
    paths = [path for _, _, path in table]
    assert len(paths) == len(set(paths))
    assert all(path.startswith("/") and (path == "/" or not path.endswith("/"))
               for path in paths), paths


@pytest.mark.parametrize("front_door", ["caddyfile", "httproute", "ingress", "operations_doc"])
def test_every_front_door_routes_exactly_the_table(front_door: str) -> None:
    said = getattr(routes, front_door)()
    table = routes.table()
    assert sorted(said - table) == [], f"{front_door} routes what the table does not"
    assert sorted(table - said) == [], f"{front_door} lacks routes of the table"


def test_the_caddyfile_reader_sees_a_drifted_route() -> None:
    """The check is only as good as the reader: a prefix without its bare path, and a
    route moved to another service, must show as differences."""
    text = routes.CADDYFILE.read_text()
    drifted = text.replace("/api/admin /api/admin/*", "/api/admin/*").replace(
        "@presence path /api/presence /api/presence/*",
        "@presence path /api/presence /api/presence/* /api/chat/x")
    assert drifted != text
    said = routes.caddyfile(drifted)
    assert ("chat", "under-only", "/api/admin") in said
    assert ("presence", "exact", "/api/chat/x") in said


def test_the_kubernetes_readers_see_a_drifted_route() -> None:
    route = routes._load(routes.HTTPROUTE)
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "RegularExpression"
    assert routes.httproute(route) != routes.table()
    ingress = routes._load(routes.INGRESS)
    ingress["spec"]["rules"][0]["http"]["paths"].pop()
    assert routes.ingress(ingress) < routes.table()


def test_streamed_routes_are_never_buffered_or_cut_short() -> None:
    """WebSockets (chat) and Server-Sent Events (dashboard): Caddy flushes at once; the
    HTTPRoute turns its request timeout off for them; the Ingress turns off nginx's buffering
    and raises its 60 s read and send timeouts."""
    assert routes.streamed_services() == {"chat", "dashboard"}
    text = routes.CADDYFILE.read_text()
    for service in routes.streamed_services():
        body = text.split(f"handle @{service} {{", 1)[1].split("\n\t}", 1)[0]
        assert "flush_interval -1" in body, service
    for rule in routes._load(routes.HTTPROUTE)["spec"]["rules"]:
        streamed = rule["backendRefs"][0]["name"] in routes.streamed_services()
        assert (rule.get("timeouts") == {"request": "0s"}) == streamed, rule
    annotations = routes._load(routes.INGRESS)["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "proxy-buffering"] == "off"
    assert int(annotations[prefix + "proxy-read-timeout"]) >= 3600
    assert int(annotations[prefix + "proxy-send-timeout"]) >= 3600
