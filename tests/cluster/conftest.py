"""The cluster tests' real Redis Cluster: one per test session (per xdist worker), 3 masters and
3 replicas (tests/support/redis_cluster.py). Each test that asks for ``redis_cluster`` gets it
healthy and empty; a test that kills a node restarts it before it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis_cluster import RedisClusterUnderTest, start_cluster


@pytest.fixture(scope="session")
def cluster_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterUnderTest]:
    cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def redis_cluster(cluster_session: RedisClusterUnderTest) -> Iterator[RedisClusterUnderTest]:
    cluster_session.wait_healthy()
    cluster_session.flush()
    yield cluster_session
    for node in cluster_session.nodes:  # a node a test killed and did not bring back
        if not node.server.running:
            cluster_session.restart(node)
