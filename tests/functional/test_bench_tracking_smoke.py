"""The tracking benchmark's harness still measures the new design (benchmarks/bench_tracking.py, item 1):
a warm instance at 1 request/s costs at most 0.1 Upstash commands per tracked request, final flush included,
counted through a probed gateway over the session stack's Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.bench_tracking import BenchGateway, GatewayProbe, NewDesignTracker, commands_per_request
from devstack.serve import serve_in_thread
from devstack.upstash_gateway import create_app


@pytest.fixture
def probed_gateway(stack: Any) -> Iterator[BenchGateway]:
    """The benchmark's probe in front of a gateway over the session stack's Redis (the stack's own gateway
    has no probe, so it cannot count round trips or bytes)."""
    token = stack.services.secrets.upstash_token
    served = serve_in_thread(GatewayProbe(create_app(token=token, redis_url=stack.services.redis.url), token))
    gateway = BenchGateway(served.url, token, stack.services.redis.url)
    yield gateway
    gateway.close()
    served.stop()


def test_the_new_design_costs_at_most_a_tenth_of_a_command_per_request_at_1_rps(
    probed_gateway: BenchGateway,
) -> None:
    # 400 s of simulated time (wall time: well under a second): long enough to amortize the instance's
    # fixed commands (its first lone flush, the hour key's EXPIRE and the final flush) below the target.
    row = commands_per_request(NewDesignTracker, 1.0, 400, probed_gateway, label="new design")
    assert row["n"] == 400
    assert row["commands"] <= 0.1, row
    assert 0 < row["round_trips"] <= row["commands"], row  # a flush is one HTTP call, whatever it holds
    assert set(json.loads(row["value"])) <= {"HSET", "EXPIRE"}, row
    assert "final flush" in row["note"], row  # what was still buffered at the end is counted
