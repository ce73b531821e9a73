"""The store contracts are shared by the unit and the integration tier: pytest rewrites
their asserts (as it does a test module's) wherever they are imported from."""

import pytest

pytest.register_assert_rewrite("tests.unit.presence.store_contract")
