"""schemathesis against the published OpenAPI document (issue 14).

Every operation of ``/vcp/v1/occtr/openapi.json`` is called with generated requests, a
valid token and, for most requests, the ids of a real UnitGroup, unit and node: no
answer may be a server error, and every answer must be one the document declares, with
the declared body and headers.  At least 2,000 requests are sent.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.core.result import Ok

from vcpsdk.controller.settings import Limits
from vcpsdk.core.cci import render_vc_cci
from vcpsdk.testing.controller import RunningController, running_controller

#: examples per operation; a few operations without parameters have fewer distinct ones
EXAMPLES = 120
MIN_REQUESTS = 2000
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture(scope="module")
def vcc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    # the rate limit is off (so every answer is about the request) and the quotas small
    # (so the few valid add-node requests do not start many sandbox nodes)
    limits = Limits(requests_per_second=0, max_nodes_per_user=4, max_nodes_per_request=2)
    state = tmp_path_factory.mktemp("fuzz")
    with running_controller(state, limits=limits, long_poll_max_sec=0.2) as controller:
        yield controller


def real_ids(vcc: RunningController, session: requests.Session) -> dict[str, str]:
    """A UnitGroup with a one-node unit: the ids most generated requests use."""
    created = session.post(f"{vcc.base_url}/vcs", json={"cci": b64(render_vc_cci("fuzz", "compute", "1"))})
    vcid = created.json()["vcid"]
    info = b64("- unit: {name: server, cloud_provider: aws, num_nodes: 1}")
    assert session.post(f"{vcc.base_url}/vcs/{vcid}", json={"unit_name": "server", "info": info}).ok
    [node] = session.get(f"{vcc.base_url}/vcs/{vcid}/server").json()["node"]
    return {"vcid": vcid, "unit_name": "server", "node_id": node["node_id"]}


def test_every_operation_answers_as_documented(vcc: RunningController, tmp_path: Path) -> None:
    token = vcc.create_token("fuzzer")
    session = requests.Session()
    session.headers["x-vcc-access-token"] = token
    ids = real_ids(vcc, session)
    schema = schemathesis.openapi.from_url(f"{vcc.base_url}/openapi.json")
    sent: list[int] = []
    # deletions last, the deepest first: the real ids stay valid for the other operations
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results  # the document loads whole
    operations = sorted(
        (result.ok() for result in results if isinstance(result, Ok)),
        key=lambda op: (op.method.lower() == "delete", -op.path.count("/")),
    )
    assert len(operations) >= 20

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), use_real=st.integers(0, 3))
        def call(case: Any, use_real: int) -> None:
            if use_real and case.path_parameters:  # three in four requests name real objects
                for name in case.path_parameters:
                    if name in ids:
                        case.path_parameters[name] = ids[name]
            response = case.call(session=session, headers={"x-vcc-access-token": token})
            sent.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        before = len(sent)
        call()
        print(operation.method.upper(), operation.path, Counter(sent[before:]))

    print(f"schemathesis: {len(sent)} requests, statuses {sorted(Counter(sent).items())}")
    assert len(sent) >= MIN_REQUESTS
    assert not [status for status in sent if status >= 500]
