"""The store contract is shared by the unit and the integration tier: pytest rewrites its
asserts (as it does a test module's) wherever it is imported from."""

import pytest

pytest.register_assert_rewrite("tests.unit.notifications.store_contract")
