"""Client CPU per Redis call: redis-py's asyncio client against ``core.redis.mux.MuxRedis``.

One EVALSHA of ``return 1`` per call (the request path's shape, with nothing for Redis to do),
under uvloop, on a throw-away ``redis-server`` (no persistence) started here. For each client:

- sequential: one coroutine, N calls one after the other;
- concurrent: 16 coroutines, each making its share of the N calls one after the other (what the
  API does: many requests in flight, each waiting for its own reply);

and each as a single command (redis-py ``evalsha``; mux ``execute`` of one command) and as a
batch of two in one round trip (redis-py pipeline without MULTI; mux ``execute`` of two).

Printed: client CPU µs per call (``time.process_time``: this process only, Redis runs in its
own) and wall µs per call, then the ratios mux/redis-py. All of it twice, with client and Redis
pinned to two CPUs, then to one (see ``placements``: the placement moves the sequential numbers
by 20 µs a call, which is why two runs of an unpinned benchmark can disagree by half). Other
processes on the machine skew the wall times more than the CPU times.

With ``--cluster-url`` (any node of a Redis Cluster), the cluster mode's request path too:
redis-py's asyncio cluster client (what ``RUCHE_REDIS_CLUSTER=1`` uses instead of the mux, which
speaks to one host), one EVALSHA on a key, and two on two slots sent at once
(``core.board.runner.send_by_slot``, a claim's shape), against redis-py's one-node client; and
the same through ``core.redis.cluster_mux.ClusterMux`` (what the API uses on a cluster).

Usage::

    .venv/bin/python bench/redis_mux.py            # N=20000 per case (~15 s)
    .venv/bin/python bench/redis_mux.py --n 2000   # smaller
    .venv/bin/python bench/redis_mux.py --smoke    # correctness only: N=320, short warm-up
    .venv/bin/python bench/redis_mux.py --cluster-url redis://127.0.0.1:7000/0

Every case's reply is checked first (``1`` per call), and the run fails on a number that is not
finite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import cast

import redis.asyncio
import uvloop
from sanity import require, require_finite

from core.board.runner import send_by_slot
from core.redis.cluster_mux import ClusterMux
from core.redis.mux import MuxRedis
from core.redis.server import RedisServer

CONCURRENCY = 16
WARM_UP = 1000
SMOKE_N = 320

Call = Callable[[], Awaitable[object]]


async def measure(call: Call, n: int, concurrency: int, warm_up: int) -> tuple[float, float]:
    """CPU and wall µs per call for ``n`` calls made by ``concurrency`` coroutines."""

    async def worker(calls: int) -> None:
        for _ in range(calls):
            await call()

    share = n // concurrency
    await asyncio.gather(*(worker(warm_up // concurrency) for _ in range(concurrency)))
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(share) for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    calls = share * concurrency
    return cpu / calls * 1e6, wall / calls * 1e6


def placements(redis_pid: int | None) -> list[tuple[str, tuple[int, int] | None]]:
    """Where client and Redis run. It matters more than the client: a reply to a client asleep
    on another CPU costs that CPU a wake-up, counted in the client's CPU time (both clients
    pay the same, so the ratios move too). Pinned when Redis is a local child and there are two
    CPUs to pin to."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if redis_pid is None or len(cpus) < 2:
        return [("unpinned", None)]
    return [
        ("client and Redis on different CPUs", (cpus[0], cpus[1])),
        ("client and Redis on one CPU", (cpus[0], cpus[0])),
    ]


async def run(url: str, n: int, pin: bool, warm_up: int, cluster_url: str | None = None) -> None:
    setup = redis.asyncio.Redis.from_url(url, decode_responses=True)
    sha = str(await setup.script_load("return 1"))
    redis_pid = int((await setup.info("server"))["process_id"]) if pin else None
    await setup.aclose()

    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    mux = MuxRedis(url)
    one = [("EVALSHA", sha, 0)]
    two = [("EVALSHA", sha, 0), ("EVALSHA", sha, 0)]

    async def redis_py_single() -> object:
        return await client.evalsha(sha, 0)

    async def redis_py_pipeline() -> object:
        pipe = client.pipeline(transaction=False)
        pipe.evalsha(sha, 0)
        pipe.evalsha(sha, 0)
        return await pipe.execute()

    async def mux_single() -> object:
        return await mux.execute(one)

    async def mux_batch() -> object:
        return await mux.execute(two)

    cases: list[tuple[str, Call]] = [
        ("redis-py evalsha", redis_py_single),
        ("mux single", mux_single),
        ("redis-py pipeline of 2", redis_py_pipeline),
        ("mux batch of 2", mux_batch),
    ]
    expected: dict[str, object] = {
        "redis-py evalsha": 1, "mux single": [1],
        "redis-py pipeline of 2": [1, 1], "mux batch of 2": [1, 1],
    }  # fmt: skip
    cluster: redis.asyncio.RedisCluster | None = None
    if cluster_url is not None:
        cluster = redis.asyncio.RedisCluster.from_url(cluster_url, decode_responses=True)
        await cluster.script_load("return 1")  # on every master
        keyed = [("EVALSHA", sha, 1, "{a}"), ("EVALSHA", sha, 1, "{b}")]  # two slots
        cluster_client = cluster

        async def cluster_single() -> object:
            return await cluster_client.evalsha(sha, 1, "{a}")

        async def cluster_pair() -> object:
            return await send_by_slot(cast(redis.asyncio.Redis, cluster_client), keyed)

        cluster_mux = ClusterMux(cluster_url)

        async def cluster_mux_single() -> object:
            return await cluster_mux.execute(keyed[:1])

        async def cluster_mux_pair() -> object:
            return await cluster_mux.execute(keyed)

        cases += [
            ("cluster evalsha", cluster_single),
            ("cluster 2 slots", cluster_pair),
            ("cluster mux single", cluster_mux_single),
            ("cluster mux 2 slots", cluster_mux_pair),
        ]
        expected.update({
            "cluster evalsha": 1, "cluster 2 slots": [1, 1],
            "cluster mux single": [1], "cluster mux 2 slots": [1, 1],
        })  # fmt: skip
    for name, call in cases:
        reply = await call()
        require(reply == expected[name], "bench/redis_mux.py", f"{name} replied {reply!r}")
    modes = [(1, "sequential"), (CONCURRENCY, f"{CONCURRENCY} coroutines")]
    print(f"N={n} calls per case; client CPU and wall µs per call (uvloop)")
    ratios: list[str] = []
    for where, cpus in placements(redis_pid):
        if cpus is not None:
            os.sched_setaffinity(0, {cpus[0]})
            os.sched_setaffinity(cast(int, redis_pid), {cpus[1]})
        print(f"\n{where}:")
        for concurrency, label in modes:
            results: dict[str, float] = {}
            for name, call in cases:
                cpu, wall = await measure(call, n, concurrency, warm_up)
                require_finite([cpu, wall], f"bench/redis_mux.py: {label} {name}")
                results[name] = cpu
                print(f"  {label:<14} {name:<24} cpu {cpu:6.1f} µs   wall {wall:6.1f} µs")
            single = results["mux single"] / results["redis-py evalsha"]
            batch = results["mux batch of 2"] / results["redis-py pipeline of 2"]
            require_finite([single, batch], f"bench/redis_mux.py: {where}, {label} ratios")
            ratios.append(f"  {where}, {label}: single {single:.2f}   batch of 2 {batch:.2f}")
            if cluster is not None:
                c_single = results["cluster evalsha"] / results["redis-py evalsha"]
                c_pair = results["cluster 2 slots"] / results["redis-py pipeline of 2"]
                m_single = results["cluster mux single"] / results["cluster evalsha"]
                m_pair = results["cluster mux 2 slots"] / results["cluster 2 slots"]
                ratios.append(
                    f"  {where}, {label}: cluster/redis-py single {c_single:.2f}   "
                    f"2 slots/pipeline of 2 {c_pair:.2f}; cluster mux/cluster client single "
                    f"{m_single:.2f}   2 slots {m_pair:.2f}"
                )
    print("\nratios mux/redis-py (client CPU):")
    print("\n".join(ratios))
    await client.aclose()
    await mux.aclose()
    if cluster is not None:
        await cluster.aclose()
        await cluster_mux.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20_000, help="calls per case (%(default)s)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"correctness only: --n {SMOKE_N}, a warm-up as short")  # fmt: skip
    parser.add_argument("--redis-url", help="use this Redis instead of starting a throw-away one")
    parser.add_argument("--cluster-url", help="also measure the cluster client on this cluster")
    args = parser.parse_args(argv)
    n, warm_up = (SMOKE_N, SMOKE_N) if args.smoke else (args.n, WARM_UP)
    if args.redis_url:
        uvloop.run(run(args.redis_url, n, pin=False, warm_up=warm_up, cluster_url=args.cluster_url))
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="ruche-bench-") as data_dir,
        RedisServer(Path(data_dir), appendonly=False) as server,
    ):
        uvloop.run(run(server.url, n, pin=True, warm_up=warm_up, cluster_url=args.cluster_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
