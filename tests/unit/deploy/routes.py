"""The public routes as each front door says them, read back into one form: a set of
(service, kind, path) with kind "exact" or "prefix" (infra/routes.yaml explains both)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
ROUTES = ROOT / "infra" / "routes.yaml"
CADDYFILE = ROOT / "services" / "gateway" / "Caddyfile"
HTTPROUTE = ROOT / "infra" / "k8s" / "base" / "httproute.yaml"
INGRESS = ROOT / "infra" / "k8s" / "components" / "ingress-nginx" / "ingress.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"

Route = tuple[str, str, str]


def table() -> set[Route]:
    services = yaml.safe_load(ROUTES.read_text())["services"]
    return {(service, kind, path) for service, spec in services.items()
            for kind in ("exact", "prefix") for path in spec.get(kind, [])}


def streamed_services() -> set[str]:
    services = yaml.safe_load(ROUTES.read_text())["services"]
    return {service for service, spec in services.items() if spec.get("stream")}


def from_patterns(service: str, patterns: list[str]) -> set[Route]:
    """Caddy's (and the docs') way: `P` and `P/*` together are the prefix P, `P` alone is
    exact; `P/*` without `P` has no equal in Kubernetes and is reported as such."""
    plain = {p for p in patterns if not p.endswith("/*")}
    under = {p[:-2] for p in patterns if p.endswith("/*")}
    routes = {(service, "prefix", p) for p in plain & under}
    routes |= {(service, "exact", p) for p in plain - under}
    routes |= {(service, "under-only", p) for p in under - plain}
    return routes


_MATCHER = re.compile(r"^\s*@(\w+) path (.+)$", re.M)
_HANDLE = re.compile(r"^\s*handle @(\w+) \{\n(.*?)^\t\}", re.M | re.S)
_UPSTREAM = re.compile(r"reverse_proxy \{\$([A-Z]+)_UPSTREAMS:")


def caddyfile(text: str | None = None) -> set[Route]:
    text = CADDYFILE.read_text() if text is None else text
    matchers = {name: paths.split() for name, paths in _MATCHER.findall(text)}
    routes: set[Route] = set()
    for name, body in _HANDLE.findall(text):
        upstream = _UPSTREAM.search(body)
        if upstream is None:  # a handle that answers itself (413, the HTTPS redirect)
            continue
        routes |= from_patterns(upstream.group(1).lower(), matchers.pop(name))
    assert not {m for m in matchers if m not in ("body_too_large",)}, matchers
    return routes


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


_GATEWAY_KINDS = {"Exact": "exact", "PathPrefix": "prefix"}


def httproute(document: dict[str, Any] | None = None) -> set[Route]:
    document = _load(HTTPROUTE) if document is None else document
    routes: set[Route] = set()
    for rule in document["spec"]["rules"]:
        (backend,) = rule["backendRefs"]
        for match in rule["matches"]:
            path = match["path"]
            routes.add((backend["name"], _GATEWAY_KINDS.get(path["type"], path["type"]),
                        path["value"]))
    return routes


_INGRESS_KINDS = {"Exact": "exact", "Prefix": "prefix"}


def ingress(document: dict[str, Any] | None = None) -> set[Route]:
    document = _load(INGRESS) if document is None else document
    routes: set[Route] = set()
    for rule in document["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            routes.add((entry["backend"]["service"]["name"],
                        _INGRESS_KINDS.get(entry["pathType"], entry["pathType"]),
                        entry["path"]))
    return routes


_DOC_ROW = re.compile(r"^\| (`/[^|]*) \| (\w+)", re.M)


def operations_doc() -> set[Route]:
    """The gateway's table in docs/operations.md: paths in backticks, then the service."""
    section = OPERATIONS.read_text().split("### The gateway", 1)[1].split("\n## ", 1)[0]
    routes: set[Route] = set()
    for paths, service in _DOC_ROW.findall(section):
        if service == "anything":
            continue
        routes |= from_patterns(service, re.findall(r"`([^`]+)`", paths))
    return routes
