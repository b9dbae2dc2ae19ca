"""``GET /metrics``: Prometheus text of one controller's requests, backend calls, operations
and nodes (vcpsdk/controller/metrics.py), without user names or secrets."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from vcpsdk.controller.backends.toolkit.errors import CloudQuotaError
from vcpsdk.controller.metrics import ControllerMetrics, StoreCollector
from vcpsdk.controller.store import Operation, Replica, Store
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.keys import write_test_public_key
from vcpsdk.testing.units import connect_sdk, create_running_unit

PID = str(os.getpid())  # the controllers of these tests run in this process


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``{(sample name, labels): value}`` of a Prometheus text exposition."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[RunningController]:
    """A controller of this test alone, so the counts are exact."""
    with running_controller(tmp_path / "vcc") as running:
        yield running


def scrape(controller: RunningController, **headers: str) -> requests.Response:
    return requests.get(f"{controller.origin}/metrics", headers=headers, timeout=30)


def test_requests_are_counted_by_route_template_and_status(controller: RunningController) -> None:
    token = controller.create_token("alice-the-user")
    headers = {"x-vcc-access-token": token}
    for _ in range(3):
        assert requests.get(controller.base_url, headers=headers, timeout=30).status_code == 200
    secret_vcid = "0123456789abcdef0123456789abcdef"
    assert (
        requests.get(f"{controller.base_url}/vcs/{secret_vcid}", headers=headers, timeout=30).status_code
        == 404
    )
    assert (
        requests.get(controller.base_url, headers={"x-vcc-access-token": "wrong"}, timeout=30).status_code
        == 403
    )
    assert requests.get(f"{controller.origin}/no/such/path", timeout=30).status_code == 404

    answer = scrape(controller)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    root = f"{BASE_PATH}"
    assert value(text, "vcc_http_requests_total", method="GET", route=root, status="200") == 3
    assert value(text, "vcc_http_requests_total", method="GET", route=root, status="403") == 1
    vc = f"{BASE_PATH}/vcs/{{vcid}}"
    assert value(text, "vcc_http_requests_total", method="GET", route=vc, status="404") == 1
    assert value(text, "vcc_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(text, "vcc_http_request_duration_seconds_count", method="GET", route=root) == 4
    assert value(text, "vcc_http_request_duration_seconds_bucket", method="GET", route=root, le="+Inf") == 4
    # no user name, id, token or client-chosen path in the labels
    for private in ("alice-the-user", secret_vcid, token, "/no/such/path"):
        assert private not in text


def test_operations_nodes_and_backend_calls_after_a_unit(
    controller: RunningController, tmp_path: Path
) -> None:
    sdk = connect_sdk(controller, tmp_path / "cfg", "bob")
    create_running_unit(sdk, write_test_public_key(tmp_path / "k.pub"), ugroup="g", num_nodes=2)
    text = scrape(controller).text
    assert value(text, "vcc_nodes", provider="aws", kind="compute", state="RUNNING") == 2
    # finished operations leave the queue: none pending or running
    assert "# TYPE vcc_operations gauge" in text
    assert not [labels for (name, labels) in samples(text) if name == "vcc_operations"]
    assert value(text, "vcc_operation_queue_depth") == 0
    assert value(text, "vcc_operation_queue_oldest_age_seconds") == 0
    assert value(text, "vcc_store_up") == 1
    assert value(text, "vcc_backend_calls_total", backend="sandbox", call="create_nodes") == 1
    assert value(text, "vcc_backend_call_duration_seconds_count", backend="sandbox", call="create_nodes") == 1
    assert value(text, "vcc_backend_errors_total", backend="sandbox", call="create_nodes", error="") is None
    assert "bob" not in text


def test_queue_depth_and_age_of_pending_operations(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vcc.db'}")
    try:
        created = dt.datetime(2026, 1, 1, 12, 0, 0)
        with store.transaction() as session:
            session.add(
                Operation(vcid="v", unit_id=1, kind="create_nodes", status="pending", created_at=created)
            )
            later = created + dt.timedelta(seconds=30)
            session.add(
                Operation(vcid="v", unit_id=1, kind="delete_nodes", status="pending", created_at=later)
            )
            session.add(
                Operation(vcid="v", unit_id=1, kind="create_nodes", status="done", created_at=created)
            )
        metrics = ControllerMetrics()
        metrics.registry.register(StoreCollector(store, now=lambda: created + dt.timedelta(seconds=90)))
        text = metrics.exposition().decode()
    finally:
        store.close()
    assert value(text, "vcc_operation_queue_depth") == 2
    assert value(text, "vcc_operation_queue_oldest_age_seconds") == 90
    assert value(text, "vcc_operations", kind="create_nodes", state="pending") == 1
    assert value(text, "vcc_operations", kind="create_nodes", state="done") == 1
    assert value(text, "vcc_operations", kind="delete_nodes", state="pending") == 1


def test_a_store_that_cannot_be_read_is_reported_not_raised(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vcc.db'}")
    store.close()
    (tmp_path / "vcc.db").unlink()
    (tmp_path / "vcc.db").mkdir()  # unreadable as a database
    text = ControllerMetrics(store).exposition().decode()
    assert value(text, "vcc_store_up") == 0


class FailingBackend:
    """A backend whose cloud refuses every create with a quota error."""

    def create_nodes(self, unit: object, nodes: object) -> list[object]:
        raise CloudQuotaError("vCPU limit", code="VcpuLimitExceeded", provider="aws")

    def describe(self, unit: object, nodes: object) -> dict[str, str]:
        return {}


def test_backend_errors_are_counted_by_error_class() -> None:
    metrics = ControllerMetrics()
    backend = FailingBackend()
    metrics.instrument([("aws", backend)])  # type: ignore[arg-type]
    with pytest.raises(CloudQuotaError):
        backend.create_nodes(None, [])
    assert backend.describe(None, []) == {}
    text = metrics.exposition().decode()
    assert value(text, "vcc_backend_calls_total", backend="aws", call="create_nodes") == 1
    assert (
        value(text, "vcc_backend_errors_total", backend="aws", call="create_nodes", error="CloudQuotaError")
        == 1
    )
    assert value(text, "vcc_backend_calls_total", backend="aws", call="describe") == 1
    assert (
        value(text, "vcc_backend_errors_total", backend="aws", call="describe", error="CloudQuotaError")
        is None
    )


def test_each_controller_has_its_own_registry() -> None:
    first, second = ControllerMetrics(), ControllerMetrics()
    first.observe_request("GET", "/x", 200, 0.1)
    assert (
        value(first.exposition().decode(), "vcc_http_requests_total", method="GET", route="/x", status="200")
        == 1
    )
    assert (
        value(second.exposition().decode(), "vcc_http_requests_total", method="GET", route="/x", status="200")
        is None
    )


def test_superuser_access_needs_a_superuser_token(tmp_path: Path) -> None:
    with running_controller(tmp_path / "vcc", metrics="superuser") as controller:
        regular = controller.create_token("carol")
        superuser = controller.create_token("root", superuser=True)
        assert scrape(controller).status_code == 403
        assert scrape(controller, authorization=f"Bearer {regular}").status_code == 403
        assert scrape(controller, authorization=f"Bearer {superuser}").status_code == 200
        assert scrape(controller, **{"x-vcc-access-token": superuser}).status_code == 200
        assert "vcc_http_requests_total" in scrape(controller, authorization=f"Bearer {superuser}").text


def test_metrics_off_is_not_served(tmp_path: Path) -> None:
    with running_controller(tmp_path / "vcc", metrics="off") as controller:
        assert scrape(controller).status_code == 404


def test_replicas_and_lease_holders(controller: RunningController) -> None:
    text = scrape(controller).text
    membership = controller.controller.membership
    assert value(text, "vcc_replicas") == 1
    holder = {"lease": "sandbox", "replica": membership.id, "host": membership.host, "pid": PID}
    assert value(text, "vcc_lease_holder", **holder) == 1
    assert value(text, "vcc_replica_info", replica=membership.id, host=membership.host, pid=PID) == 1
    assert value(text, "vcc_replica_lease_held", lease="sandbox") == 1
    assert value(text, "vcc_replica_results_dropped_total") == 0


def test_a_lease_whose_holder_is_gone_shows_no_holder(controller: RunningController) -> None:
    membership = controller.controller.membership
    membership._stop.set()  # no heartbeat from now on
    with controller.controller.store.transaction() as session:  # as if the holder's lease ran out
        expired = dt.datetime(2000, 1, 1)
        session.execute(update(Replica).where(Replica.id == membership.id).values(lease_until=expired))
    text = scrape(controller).text
    assert value(text, "vcc_replicas") == 0
    assert value(text, "vcc_lease_holder", lease="sandbox", replica="", host="", pid="") == 0
