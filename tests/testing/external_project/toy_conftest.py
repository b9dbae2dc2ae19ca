import pytest
from toy_harness import ToyHarness


@pytest.fixture
def conformance_harness():
    return ToyHarness()
