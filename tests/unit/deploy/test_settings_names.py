"""Every variable the deployment files give a Tertulia process is one that process reads.

The settings classes ignore what they do not know (`extra="ignore"`), so a misspelt or
renamed variable in infra/compose or infra/k8s would be dropped without a word and the
service would run on its default. This is the check that cannot happen."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.chat.settings import ChatSettings
from services.dashboard.settings import DashboardSettings
from services.notifications.settings import NotificationsSettings
from services.presence.settings import PresenceSettings
from tests.unit.deploy import kube

SETTINGS: dict[str, type[BaseSettings]] = {
    "chat": ChatSettings, "presence": PresenceSettings,
    "notifications": NotificationsSettings, "dashboard": DashboardSettings}
# Read outside the settings classes: the shared NATS_URL fallback (shared/nats_settings.py).
READ_BY_EVERY_SERVICE = {"NATS_URL"}
COMPOSE = kube.ROOT / "infra" / "compose" / "compose.yaml"


def names_read_by(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    names = set(READ_BY_EVERY_SERVICE)
    for field, info in settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{field}")
    return {name.upper() for name in names}


READ = {service: names_read_by(cls) for service, cls in SETTINGS.items()}


def unread(given: set[str], services: list[str]) -> list[str]:
    """The names in `given` that none of `services` reads."""
    known = set().union(*(READ[s] for s in services))
    return sorted(given - known)


def _role(command: list[Any]) -> list[str]:
    """Which services' settings a container running `tertulia <command>` reads."""
    if command[:1] == ["serve"]:
        return [str(command[1])]
    if command[:1] == ["migrate"]:
        return [str(s) for s in command[1:]] or list(SETTINGS)
    return []


def test_the_check_knows_real_names_and_sees_a_misspelt_one() -> None:
    assert {"CHAT_NATS_USER", "CHAT_AUTO_MIGRATE", "CHAT_DATABASE_URL", "DATA_DIR",
            "PRESENCE_EVENTS_REPLICAS", "DASHBOARD_TRUSTED_PROXIES"} <= set().union(*READ.values())
    assert unread({"CHAT_NATS_USER", "CHAT_NATS_USERNAME"}, ["chat"]) == ["CHAT_NATS_USERNAME"]
    assert unread({"PRESENCE_NATS_USER"}, ["chat"]) == ["PRESENCE_NATS_USER"]


def test_compose_gives_each_tertulia_container_only_what_it_reads() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    checked = 0
    for name, service in compose["services"].items():
        roles = _role(service.get("command") or [])
        if not roles:
            continue  # NATS, Caddy, PostgreSQL: their own variables
        checked += 1
        given = set(service.get("environment") or {})
        assert unread(given, roles) == [], name
    assert checked == 5  # migrate and the four services


@pytest.mark.parametrize("variant", kube.VARIANTS)
def test_kubernetes_gives_each_tertulia_container_only_what_it_reads(variant: str) -> None:
    docs = kube.render(variant)
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in docs
                   if d["kind"] == "ConfigMap"}
    checked = 0
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            roles = _role(container.get("args") or container.get("command") or [])
            if not roles:
                continue
            checked += 1
            given = {e["name"] for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef")
                if ref is not None:
                    # One ConfigMap serves every service: each name is for one of them.
                    shared = set(config_maps[ref["name"]])
                    assert unread(shared, list(SETTINGS)) == [], ref["name"]
            assert unread(given, roles) == [], (doc["metadata"]["name"], container["name"])
    assert checked >= 8  # four services, each with its migrate initContainer


def test_the_backup_job_reads_each_database_where_its_service_writes_it() -> None:
    docs = kube.render("single-node+backup")
    (job,) = [d for d in docs if d["kind"] == "CronJob"]
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "tertulia backup --to" in " ".join(container["args"])
    env = {e["name"]: e.get("value") for e in container["env"]}
    # TERTULIA_NATS_ADMIN_PASSWORD is read by the backup command itself (services/backup/).
    assert unread(set(env) - {"TERTULIA_NATS_ADMIN_PASSWORD"}, list(SETTINGS)) == []
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in pod["volumes"] if "persistentVolumeClaim" in v}
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for service in SETTINGS:
        volume = mounts[env[f"{service.upper()}_DATA_DIR"]]
        (own,) = [v["persistentVolumeClaim"]["claimName"]
                  for v in deployments[service]["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "data"]
        assert claims[volume] == own, service
    assert pod["securityContext"]["runAsUser"] == 10001
