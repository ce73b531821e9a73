"""The inbound adapters type against a Protocol instead of bootstrap's container (so they
never import the composition root that imports them); without a type checker in the loop,
this holds the container to every member such a Protocol names."""

from __future__ import annotations

import dataclasses

import pytest

from services.chat.adapters.inbound.service import ChatService
from services.chat.bootstrap import Chat
from services.dashboard.adapters.inbound.http import DashboardService
from services.dashboard.bootstrap import Dashboard


@pytest.mark.parametrize(("bundle", "container"), [(ChatService, Chat),
                                                   (DashboardService, Dashboard)])
def test_the_wired_service_has_all_the_inbound_adapters_use(bundle: type,
                                                            container: type) -> None:
    members = {name for name in (*vars(bundle), *vars(bundle).get("__annotations__", {}))
               if not name.startswith("_")}
    assert members, "a bundle that names nothing checks nothing"
    fields = {f.name for f in dataclasses.fields(container)}
    missing = sorted(m for m in members if m not in fields and not hasattr(container, m))
    assert missing == []
