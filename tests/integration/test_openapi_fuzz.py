"""schemathesis against the published OpenAPI document (issue 14).

Every operation of ``/vcp/v1/occtr/openapi.json`` is called with generated requests, a
valid token and, for most requests, the ids of a real UnitGroup, unit and node: no
answer may be a server error, and every answer must be one the document declares, with
the declared body and headers.  At least 2,000 requests are sent.

The ``st run`` command's coverage phase then runs every check of ``--checks all`` but
one: undeclared methods answer 405 with the path's ``Allow`` (ST204), ``Allow`` lists the
documented methods (ST205), and so on.  ``positive_data_acceptance`` (ST202) is left out:
a schema-valid ``cci``/``info`` is any base64, and whether it decodes to a valid CCI
(UTF-8 YAML of the right shape) is beyond what a JSON Schema says, so a 400 is right there.
"""

from __future__ import annotations

import base64
import subprocess
import sys
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
        # a path segment that is an operation for this method (PATCH …/{node_id}: see the enum)
        enums = {
            p["name"]
            for p in operation.definition.raw.get("parameters", [])
            if p.get("in") == "path" and "enum" in p.get("schema", {})
        }

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
                    if name in ids and name not in enums:  # noqa: B023 - call() runs in this iteration
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


def test_st_run_coverage_phase_passes_every_applicable_check(vcc: RunningController, tmp_path: Path) -> None:
    token = vcc.create_token("st-runner")
    session = requests.Session()
    session.headers["x-vcc-access-token"] = token
    ids = real_ids(vcc, session)
    config = tmp_path / "schemathesis.toml"
    config.write_text("[parameters]\n" + "".join(f'"path.{k}" = "{v}"\n' for k, v in ids.items()))
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(config),
            "--no-color",
            "run",
            f"{vcc.base_url}/openapi.json",
            "-H",
            f"x-vcc-access-token: {token}",
            "--phases",
            "examples,coverage",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=tmp_path,  # st keeps its cache in the working directory
    )
    summary = result.stdout[-4000:]
    print(summary)
    assert result.returncode == 0, summary
    assert "ST204" not in result.stdout and "ST205" not in result.stdout
