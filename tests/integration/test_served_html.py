"""Nothing a service serves refers to another origin, and every page it serves has a CSP.

Walks each service's own routes (pages, static files, whatever FastAPI adds such as API
docs) as a visitor without a token would see them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount, Route

from tests.integration.four_services import SERVICES, running

pytestmark = pytest.mark.integration

# Absolute URLs; XML namespace names (`xmlns="http://www.w3.org/2000/svg"`) are names, not
# references, and load nothing.
ABSOLUTE = re.compile(r"""(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s"'()<>]*""", re.I)
NAMESPACES = ("http://www.w3.org/",)
REFERENCE = re.compile(r"""\b(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]+)""", re.I)


def _paths(routes: list[Any], prefix: str = "") -> list[str]:
    """Every GET path without parameters, and every file under every static mount."""
    found = []
    for route in routes:
        if isinstance(route, Route):
            if "GET" in (route.methods or ()) and "{" not in route.path:
                found.append(prefix + route.path)
        elif isinstance(route, Mount) and getattr(route.app, "directory", None):
            root = Path(route.app.directory)
            found += [f"{prefix}{route.path}/{p.relative_to(root).as_posix()}"
                      for p in sorted(root.rglob("*")) if p.is_file()]
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers whole
            found += _paths(route.original_router.routes,
                            prefix + route.include_context.prefix)
    return found


def _foreign(text: str) -> list[str]:
    refs = [m.group(0) for m in ABSOLUTE.finditer(text) if not m.group(0).startswith(NAMESPACES)]
    refs += [r for r in REFERENCE.findall(text) if r.startswith(("//", "http:", "https:"))
             and not r.startswith(NAMESPACES)]
    return refs


@pytest.mark.parametrize("service", SERVICES)
async def test_nothing_served_refers_to_another_origin_and_pages_carry_a_csp(
        service: str, tmp_path: Path, nats_url: str) -> None:
    async with running(service, tmp_path, nats_url) as svc, svc.client() as http:
        http.headers.pop("Authorization")
        pages = []
        for path in _paths(svc.app.routes):
            response = await http.get(path)
            kind = response.headers.get("content-type", "")
            if response.status_code != 200 or not kind.startswith(("text/", "application/j",
                                                                    "image/svg")):
                continue
            assert _foreign(response.text) == [], (path, _foreign(response.text))
            if kind.startswith("text/html"):
                pages.append(path)
                csp = response.headers.get("content-security-policy", "")
                assert "default-src 'none'" in csp, path
                assert "script-src 'self'" in csp and "unsafe" not in csp, path
                assert "frame-ancestors 'none'" in csp, path
        assert pages == {"chat": ["/", "/admin"], "dashboard": ["/dashboard"]}.get(service, [])


@pytest.mark.parametrize("service", SERVICES)
async def test_the_api_docs_are_the_schema_on_the_service_port_only(
        service: str, tmp_path: Path, nats_url: str) -> None:
    async with running(service, tmp_path, nats_url) as svc, svc.client() as http:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            response = await http.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json", path
        schema = await http.get("/openapi.json")
        assert schema.status_code == 200
        assert schema.json()["paths"]
