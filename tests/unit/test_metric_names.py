"""One name for each metric: the attribute a service's code counts with is the metric's own
name without `tertulia_<service>_` and `_total`, so what an operator reads on `/metrics` is
what a developer greps for."""

from __future__ import annotations

import pytest
from prometheus_client.metrics import MetricWrapperBase

from services.chat.adapters.metrics import ChatMetrics
from services.dashboard.adapters.metrics import DashboardMetrics
from services.notifications.adapters.metrics import NotificationsMetrics
from services.presence.adapters.metrics import PresenceMetrics


def _metrics(service: str, metrics: object) -> list[tuple[str, str]]:
    prefix = f"tertulia_{service}_"
    found = []
    for attribute, value in vars(metrics).items():
        if isinstance(value, MetricWrapperBase):
            name = value._name.removeprefix(prefix)  # Counters keep `_total` off `_name`
            found.append((attribute, name))
    return found


@pytest.mark.parametrize(("service", "metrics"), [
    ("chat", ChatMetrics()), ("presence", PresenceMetrics()),
    ("notifications", NotificationsMetrics()), ("dashboard", DashboardMetrics())])
def test_each_metric_is_called_in_code_what_it_is_called_on_metrics(
        service: str, metrics: object) -> None:
    found = _metrics(service, metrics)
    assert found
    assert [(a, n) for a, n in found if a != n] == []
