"""Benchmark of the task board (``core/board/runner.py``) against one Redis, in one run.

Prints a readable report and, last, one JSON line holding every number:

1. claim calls/s next to plain ``SET`` calls/s through the same client and connection
   (sequential round trips), as the board runs a claim and as a raw ``EVALSHA`` of its script;
2. claim latency (p50/p99) with 10^3, 10^5 and 10^6 queued tasks, and the ratios to 10^3;
3. Redis bytes per queued task for a 200-byte payload, with and without external ids;
4. bulk creation rate through ``create_tasks`` next to raw pipelined ``HSET`` of the same payloads.

Claims are kept from draining the queue: every project uses the highest redundancy and every claim
comes from a new volunteer, so a task leaves the ready set only once per 99 claims.

Usage::

    .venv/bin/python bench/board.py            # full run (~1 min; ~0.5 GB in Redis at peak)
    .venv/bin/python bench/board.py --quick    # smaller sizes
    .venv/bin/python bench/board.py --smoke    # correctness only, tiny sizes (a few seconds)
    .venv/bin/python bench/board.py --redis-url redis://host:6379/0

Without ``--redis-url`` a throw-away ``redis-server`` is started (no persistence). With it, every
key the benchmark writes lives under a ``ruchebench:<random>:`` prefix and is deleted at the end;
memory figures are then deltas of ``used_memory`` and are only clean on an otherwise idle server.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.utils import HIREDIS_AVAILABLE
from sanity import require_finite

from core import ids
from core.board.models import CREATE_CHUNK, MAX_REDUNDANCY
from core.board.runner import Board, BoardPolicy, Claimed, NewTask, NothingToClaim
from core.redis.keys import Keys, ProjectKeys
from core.redis.scripts import ScriptName, script_source
from core.redis.server import RedisServer

PAYLOAD_BYTES = 200
FILL_BATCH = 50_000  # tasks handed to one create_tasks call while filling the big projects
LATENCY_BLOCK = 250  # claims per project before moving to the next one (interleaved rounds)


@dataclass(frozen=True, slots=True)
class Plan:
    calls: int  # timed calls of each kind in the claim-vs-SET comparison
    warmup: int
    block: int  # calls per block; blocks of the kinds alternate so drift hits them alike
    depths: tuple[int, ...]  # queued tasks of the latency projects
    claims: int  # timed claims per latency project
    latency_warmup: int
    memory_tasks: int  # tasks created for the bytes-per-task and bulk-rate figures


FULL = Plan(20_000, 2_000, 1_000, (10**3, 10**5, 10**6), 5_000, 500, 100_000)
QUICK = Plan(2_000, 200, 500, (10**3, 10**4, 10**5), 1_000, 100, 10_000)
SMOKE = Plan(200, 50, 100, (10**2, 10**3, 10**4), 250, 20, 2_000)


# -- small helpers ---------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """The board's own serialisation (see core.board.runner._dumps)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def label(n: int) -> str:
    exponent = round(math.log10(n))
    return f"10^{exponent}" if 10**exponent == n else str(n)


def percentile(sorted_values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile of an already sorted sequence."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def command_stats(client: redis.Redis) -> dict[str, tuple[int, int]]:
    """(calls, usec) so far of the commands timed here, from INFO commandstats."""
    stats = client.info("commandstats")
    out: dict[str, tuple[int, int]] = {}
    for name in ("evalsha", "set", "hset"):
        entry = stats.get(f"cmdstat_{name}", {})
        out[name] = (int(entry.get("calls", 0)), int(entry.get("usec", 0)))
    return out


def server_usec(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], name: str
) -> tuple[int, int]:
    return after[name][0] - before[name][0], after[name][1] - before[name][1]


@contextmanager
def gc_paused() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def settle(bulk: redis.Redis) -> None:
    """Close the bulk connections so their query/reply buffers leave ``used_memory``."""
    bulk.connection_pool.disconnect()
    time.sleep(0.1)  # let the server notice the closed sockets before the next INFO


def payload_200(i: int) -> dict[str, str]:
    head = {"id": f"{i:08d}", "text": ""}
    room = PAYLOAD_BYTES - len(dumps(head).encode())
    filler = ("lorem ipsum dolor sit amet " * 10)[:room]
    payload = {"id": f"{i:08d}", "text": filler}
    assert len(dumps(payload).encode()) == PAYLOAD_BYTES
    return payload


def external_id(i: int) -> str:
    return str(uuid.UUID(int=i))  # 36 characters, the shape of a typical NGO-side row id


def project_keys_of(pk: ProjectKeys) -> dict[str, str]:
    return {
        "project": pk.project,
        "tasks": pk.tasks,
        "payloads": pk.payloads,
        "ext": pk.external_ids,
        "ready": pk.ready,
        "events": pk.events,
    }


def fresh_volunteers(n: int) -> list[str]:
    return [ids.new_volunteer_id() for _ in range(n)]


def fail(message: str) -> None:
    raise SystemExit(f"bench/board.py: {message}")


# -- the benchmark ---------------------------------------------------------------------------


class Bench:
    def __init__(self, client: redis.Redis, bulk: redis.Redis, plan: Plan) -> None:
        self.client = client  # one connection: every timed call goes through it
        self.bulk = bulk  # pipelines and task creation
        self.plan = plan
        self.prefix = f"ruchebench:{secrets.token_hex(4)}:"
        self.keys = Keys(prefix=self.prefix)
        self.board = Board(client, keys=self.keys)
        self.bulk_board = Board(bulk, keys=self.keys)
        self.policy = BoardPolicy(redundancy=MAX_REDUNDANCY, lease_seconds=3600)
        self.ops = self.board.ops

    def new_project(self) -> str:
        return self.bulk_board.run(self.ops.create_project(ids.new_project_id(), self.policy, None))

    def claim(self, project_id: str, volunteer_id: str) -> Claimed | NothingToClaim:
        """A claim as the board runs it (one method call, then ``Board.run``)."""
        return self.board.run(self.ops.claim(project_id, volunteer_id))

    # 3 + 4: bytes per task and bulk creation rate

    def memory_and_bulk(self) -> dict[str, Any]:
        n = self.plan.memory_tasks
        payloads = [payload_200(i) for i in range(n)]
        serialised = [dumps(p) for p in payloads]
        results: dict[str, Any] = {"tasks": n, "payload_bytes": PAYLOAD_BYTES}

        # Raw baseline: the same payloads, one HSET each, all in one pipeline.
        raw_key = f"{self.prefix}raw-hset"
        fields = [f"t{i + 1:010d}" for i in range(n)]
        settle(self.bulk)
        before = used_memory(self.client)
        stats = command_stats(self.client)
        pipe = self.bulk.pipeline(transaction=False)
        start = time.perf_counter_ns()
        for field, value in zip(fields, serialised, strict=True):
            pipe.hset(raw_key, field, value)
        pipe.execute()
        elapsed = time.perf_counter_ns() - start
        _, usec = server_usec(stats, command_stats(self.client), "hset")
        settle(self.bulk)
        after = used_memory(self.client)
        results["raw_hset"] = {
            "seconds": elapsed / 1e9,
            "server_seconds": usec / 1e6,
            "per_s": n / (elapsed / 1e9),
            "bytes_per_task": (after - before) / n,
            "memory_usage_per_task": int(self.client.memory_usage(raw_key, samples=0) or 0) / n,
        }
        self.client.delete(raw_key)

        for variant, with_ext in (("no_ext", False), ("ext", True)):
            tasks = [
                NewTask(p, external_id=external_id(i) if with_ext else None)
                for i, p in enumerate(payloads)
            ]
            project_id = self.new_project()
            pk = self.keys.project(project_id)
            settle(self.bulk)
            before = used_memory(self.client)
            stats = command_stats(self.client)
            start = time.perf_counter_ns()
            created = self.bulk_board.run(self.ops.create_tasks(project_id, tasks))
            elapsed = time.perf_counter_ns() - start
            _, usec = server_usec(stats, command_stats(self.client), "evalsha")
            settle(self.bulk)
            after = used_memory(self.client)
            if sum(c.created for c in created) != n:
                fail(f"create_tasks created {sum(c.created for c in created)} of {n} tasks")
            per_key = {
                name: int(self.client.memory_usage(key, samples=0) or 0) / n
                for name, key in project_keys_of(pk).items()
            }
            results[variant] = {
                "seconds": elapsed / 1e9,
                "server_seconds": usec / 1e6,
                "per_s": n / (elapsed / 1e9),
                "bytes_per_task": (after - before) / n,
                "memory_usage_per_task": per_key,
                "memory_usage_per_task_total": sum(per_key.values()),
                "task_record_bytes": len(self.client.hget(pk.tasks, created[0].task_id) or b""),
            }
            if with_ext:
                results[variant]["external_id_bytes"] = len(external_id(0))
            self.client.delete(*project_keys_of(pk).values())
            self.client.srem(self.keys.projects, project_id)

        results["ratio_create_tasks_to_raw_hset"] = (
            results["no_ext"]["per_s"] / results["raw_hset"]["per_s"]
        )
        return results

    # 1: claim calls/s next to SET calls/s

    def claim_vs_set(self) -> dict[str, Any]:
        plan = self.plan
        per_kind = plan.calls + plan.warmup
        needed = math.ceil(2 * per_kind / MAX_REDUNDANCY)
        project_id = self.new_project()
        tasks = [NewTask({"text": f"item {i:07d}"}) for i in range(max(2_000, 4 * needed))]
        self.bulk_board.run(self.ops.create_tasks(project_id, tasks))
        pk = self.keys.project(project_id)
        sha = str(self.client.script_load(script_source(ScriptName.CLAIM)))
        trivial_sha = str(self.client.script_load("return 1"))

        def raw_call(volunteer: str) -> tuple[int, tuple[str | int, ...]]:
            # The very KEYS and ARGV Board.claim sends (built by BoardOps, so the key count
            # follows the script), built ahead of the timed loop.
            call = self.board.ops.claim(project_id, volunteer)
            if call.script != ScriptName.CLAIM:
                fail(f"Board.claim no longer sends the claim script (sends {call.script})")
            return len(call.keys), (*call.keys, *call.args)

        board_vols = fresh_volunteers(per_kind)
        raw_calls = [raw_call(v) for v in fresh_volunteers(per_kind)]
        set_key, set_value = f"{self.prefix}set", b"v" * 16

        client, claim = self.client, self.claim

        def run_set(lo: int, hi: int) -> int:
            for _ in range(lo, hi):
                client.set(set_key, set_value)
            return hi - lo

        def run_board(lo: int, hi: int) -> int:
            ok = 0
            for vol in board_vols[lo:hi]:
                ok += isinstance(claim(project_id, vol), Claimed)
            return ok

        def run_raw(lo: int, hi: int) -> int:
            ok = 0
            for numkeys, argv in raw_calls[lo:hi]:
                ok += client.evalsha(sha, numkeys, *argv)[0] == b"ok"
            return ok

        def run_trivial(lo: int, hi: int) -> int:
            ok = 0
            for _ in range(lo, hi):
                ok += client.evalsha(trivial_sha, 0) == 1
            return ok

        kinds: dict[str, Callable[[int, int], int]] = {
            "set": run_set,
            "trivial_evalsha": run_trivial,
            "board_claim": run_board,
            "raw_evalsha_claim": run_raw,
        }
        command_of = dict.fromkeys(kinds, "evalsha") | {"set": "set"}
        elapsed = dict.fromkeys(kinds, 0)
        server = {k: [0, 0] for k in kinds}
        settle(self.bulk)
        memory_before = used_memory(self.client)
        with gc_paused():
            for kind, run in kinds.items():  # warm-up
                if run(0, plan.warmup) != plan.warmup:
                    fail(f"warm-up of {kind} had failed calls")
            offset = plan.warmup
            for round_no, lo in enumerate(range(offset, offset + plan.calls, plan.block)):
                hi = min(lo + plan.block, offset + plan.calls)
                names = list(kinds)
                shift = round_no % len(names)
                for kind in names[shift:] + names[:shift]:
                    before = command_stats(client)
                    start = time.perf_counter_ns()
                    ok = kinds[kind](lo, hi)
                    elapsed[kind] += time.perf_counter_ns() - start
                    after = command_stats(client)
                    calls, usec = server_usec(before, after, command_of[kind])
                    server[kind][0] += calls
                    server[kind][1] += usec
                    if ok != hi - lo:
                        fail(f"{kind}: {hi - lo - ok} of {hi - lo} calls did not succeed")
        claims_made = 2 * per_kind
        bytes_per_claim = (used_memory(self.client) - memory_before) / claims_made
        rates = {k: plan.calls / (elapsed[k] / 1e9) for k in kinds}
        return {
            "calls": plan.calls,
            "bytes_per_claim": bytes_per_claim,
            "queued_tasks": int(self.client.zcard(pk.ready)),
            "per_s": rates,
            "usec_per_call": {k: elapsed[k] / plan.calls / 1e3 for k in kinds},
            "server_usec_per_call": {k: server[k][1] / max(1, server[k][0]) for k in kinds},
            "ratio_board_claim_to_set": rates["board_claim"] / rates["set"],
            "ratio_raw_evalsha_claim_to_set": rates["raw_evalsha_claim"] / rates["set"],
        }

    # 2: claim latency against queue depth

    def fill(self, depth: int) -> tuple[str, dict[str, float]]:
        project_id = self.new_project()
        settle(self.bulk)
        before = used_memory(self.client)
        spent = 0
        for lo in range(0, depth, FILL_BATCH):
            hi = min(depth, lo + FILL_BATCH)
            batch = [NewTask({"text": f"item {i:07d}"}) for i in range(lo, hi)]
            start = time.perf_counter_ns()
            self.bulk_board.run(self.ops.create_tasks(project_id, batch))
            spent += time.perf_counter_ns() - start
        settle(self.bulk)
        after = used_memory(self.client)
        return project_id, {
            "fill_seconds": spent / 1e9,
            "fill_tasks_per_s": depth / (spent / 1e9),
            "fill_bytes_per_task": (after - before) / depth,
        }

    def latency(self) -> dict[str, Any]:
        plan = self.plan
        projects: dict[int, str] = {}
        info: dict[int, dict[str, Any]] = {}
        for depth in plan.depths:
            print(f"  filling {label(depth)} tasks ...", file=sys.stderr, flush=True)
            projects[depth], info[depth] = self.fill(depth)
            pk = self.keys.project(projects[depth])
            info[depth]["depth_start"] = int(self.client.zcard(pk.ready))

        client, claim = self.client, self.claim
        samples: dict[int, list[int]] = {d: [] for d in plan.depths}
        server = {d: [0, 0] for d in plan.depths}
        failures = 0
        with gc_paused():
            for project_id in projects.values():
                for vol in fresh_volunteers(plan.latency_warmup):
                    failures += not isinstance(claim(project_id, vol), Claimed)
            rounds = math.ceil(plan.claims / LATENCY_BLOCK)
            for round_no in range(rounds):
                count = min(LATENCY_BLOCK, plan.claims - round_no * LATENCY_BLOCK)
                order = list(plan.depths)
                shift = round_no % len(order)
                for depth in order[shift:] + order[:shift]:
                    project_id, out = projects[depth], samples[depth]
                    vols = fresh_volunteers(count)
                    before = command_stats(client)
                    for vol in vols:
                        start = time.perf_counter_ns()
                        outcome = claim(project_id, vol)
                        out.append(time.perf_counter_ns() - start)
                        failures += not isinstance(outcome, Claimed)
                    calls, usec = server_usec(before, command_stats(client), "evalsha")
                    server[depth][0] += calls
                    server[depth][1] += usec
        if failures:
            fail(f"{failures} latency claims found nothing to claim")

        result: dict[str, Any] = {"claims_per_depth": plan.claims, "depths": {}}
        for depth in plan.depths:
            ordered = sorted(samples[depth])
            pk = self.keys.project(projects[depth])
            result["depths"][str(depth)] = {
                **info[depth],
                "depth_end": int(self.client.zcard(pk.ready)),
                "p50_us": percentile(ordered, 50) / 1e3,
                "p90_us": percentile(ordered, 90) / 1e3,
                "p99_us": percentile(ordered, 99) / 1e3,
                "max_us": ordered[-1] / 1e3,
                "mean_us": sum(ordered) / len(ordered) / 1e3,
                "server_usec_per_call": server[depth][1] / max(1, server[depth][0]),
            }
        base = result["depths"][str(plan.depths[0])]
        ratios: dict[str, float] = {}
        for depth in plan.depths[1:]:
            row = result["depths"][str(depth)]
            for stat in ("p50", "p99"):
                name = f"{stat}_{label(depth)}_over_{label(plan.depths[0])}"
                ratios[name] = row[f"{stat}_us"] / base[f"{stat}_us"]
            name = f"server_{label(depth)}_over_{label(plan.depths[0])}"
            ratios[name] = row["server_usec_per_call"] / base["server_usec_per_call"]
        result["ratios"] = ratios
        return result

    def cleanup(self) -> None:
        batch: list[str] = []
        for key in self.client.scan_iter(match=f"{self.prefix}*", count=1_000):
            batch.append(key.decode() if isinstance(key, bytes) else str(key))
            if len(batch) >= 1_000:
                self.client.unlink(*batch)
                batch.clear()
        if batch:
            self.client.unlink(*batch)


# -- report ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment(client: redis.Redis, binary: str | None) -> dict[str, Any]:
    server = client.info("server")
    return {
        "redis_version": server.get("redis_version"),
        "redis_allocator": client.info("memory").get("mem_allocator"),
        "redis_binary": binary or "(external, --redis-url)",
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "redis_py": redis.__version__,
        "hiredis": HIREDIS_AVAILABLE,
        "create_chunk": CREATE_CHUNK,
    }


def print_report(env: dict[str, Any], plan: Plan, mode: str, res: dict[str, Any]) -> None:
    print(f"Ruche board benchmark ({mode} run)")
    print(
        f"  redis-server {env['redis_version']} (allocator {env['redis_allocator']}), "
        f"{env['redis_binary']}"
    )
    print(f"  CPUs: {env['cpu_count']} ({env['cpu_affinity']} usable), {env['cpu_model']}")
    print(f"  Python {env['python']}, redis-py {env['redis_py']}, hiredis {env['hiredis']}")
    print()

    t = res["claim_vs_set"]
    print(
        f"1. Claim vs SET: {t['calls']:,} sequential calls of each through one connection "
        f"(blocks of {plan.block:,}, interleaved; {t['queued_tasks']:,} tasks queued)"
    )
    print(f"   {'call':<26}{'calls/s':>10}{'us/call':>10}{'server us':>11}{'vs SET':>9}")
    for kind, name in (
        ("set", "SET"),
        ("trivial_evalsha", "EVALSHA 'return 1'"),
        ("board_claim", "Board.claim"),
        ("raw_evalsha_claim", "EVALSHA claim (bare)"),
    ):
        print(
            f"   {name:<26}{t['per_s'][kind]:>10,.0f}{t['usec_per_call'][kind]:>10.1f}"
            f"{t['server_usec_per_call'][kind]:>11.1f}"
            f"{t['per_s'][kind] / t['per_s']['set']:>9.2f}"
        )
    print(
        f"   ratio claim/SET (calls/s): Board.claim {t['ratio_board_claim_to_set']:.2f}, "
        f"bare EVALSHA {t['ratio_raw_evalsha_claim_to_set']:.2f}"
    )
    print(
        f"   (server us: time inside Redis per call, INFO commandstats; Redis memory growth per "
        f"claim: {t['bytes_per_claim']:.0f} B, i.e. assignment + lease + touched set + event)"
    )
    print()

    lat = res["latency"]
    print(
        f"2. Claim latency vs queue depth: {lat['claims_per_depth']:,} claims per depth, "
        f"each by a new volunteer, redundancy {MAX_REDUNDANCY}; interleaved blocks of "
        f"{LATENCY_BLOCK}"
    )
    print(
        f"   {'queued':>9}{'p50 us':>9}{'p90 us':>9}{'p99 us':>9}{'max us':>9}{'mean us':>9}"
        f"{'server us':>11}{'depth after':>13}{'fill/s':>10}{'B/task':>8}"
    )
    for depth_s, row in lat["depths"].items():
        print(
            f"   {label(int(depth_s)):>9}{row['p50_us']:>9.1f}{row['p90_us']:>9.1f}"
            f"{row['p99_us']:>9.1f}{row['max_us']:>9.1f}{row['mean_us']:>9.1f}"
            f"{row['server_usec_per_call']:>11.1f}{row['depth_end']:>13,}"
            f"{row['fill_tasks_per_s']:>10,.0f}{row['fill_bytes_per_task']:>8.0f}"
        )
    print("   ratios: " + ", ".join(f"{k} = {v:.2f}" for k, v in lat["ratios"].items()))
    print(
        "   (server us: EVALSHA time inside Redis, INFO commandstats; B/task: used_memory "
        "growth per task while filling, payload ~25 B)"
    )
    print()

    mem = res["memory_and_bulk"]
    print(
        f"3. Redis memory per queued task, {PAYLOAD_BYTES}-byte JSON payload, "
        f"{mem['tasks']:,} tasks, redundancy {MAX_REDUNDANCY}"
    )
    ext_len = mem["ext"]["external_id_bytes"]
    print(f"   {'variant':<30}{'used_memory/task':>17}{'MEMORY USAGE/task':>19}")
    print(
        f"   {'raw HSET payload only':<30}{mem['raw_hset']['bytes_per_task']:>17.1f}"
        f"{mem['raw_hset']['memory_usage_per_task']:>19.1f}"
    )
    for variant, name in (
        ("no_ext", "board, no external id"),
        ("ext", f"board, {ext_len}-char external id"),
    ):
        print(
            f"   {name:<30}{mem[variant]['bytes_per_task']:>17.1f}"
            f"{mem[variant]['memory_usage_per_task_total']:>19.1f}"
        )
    keys = list(mem["ext"]["memory_usage_per_task"])
    print(f"   MEMORY USAGE per task by key: {'':<6}" + "".join(f"{k:>10}" for k in keys))
    for variant in ("no_ext", "ext"):
        print(
            f"   {variant:<36}"
            + "".join(f"{mem[variant]['memory_usage_per_task'][k]:>10.1f}" for k in keys)
        )
    print(
        f"   (task record JSON: {mem['no_ext']['task_record_bytes']} B without, "
        f"{mem['ext']['task_record_bytes']} B with external id)"
    )
    print()

    print(f"4. Bulk creation, {mem['tasks']:,} tasks of {PAYLOAD_BYTES} B")
    print(f"   {'path':<44}{'tasks/s':>10}{'seconds':>9}{'in Redis':>10}")
    for variant, name in (
        ("raw_hset", "raw pipelined HSET (pre-serialised payloads)"),
        ("no_ext", "create_tasks, no external id"),
        ("ext", "create_tasks, external id"),
    ):
        print(
            f"   {name:<44}{mem[variant]['per_s']:>10,.0f}{mem[variant]['seconds']:>9.2f}"
            f"{mem[variant]['server_seconds']:>10.2f}"
        )
    print(
        f"   ratio create_tasks/raw HSET = {mem['ratio_create_tasks_to_raw_hset']:.2f} "
        f"(both through one pipeline; create_tasks sends one EVALSHA per {CREATE_CHUNK} tasks)"
    )
    print()
    print(
        f"Redis used_memory peak {res['redis_peak_bytes'] / 2**20:,.0f} MiB; "
        f"elapsed {res['elapsed_s']:.1f} s"
    )


# -- main ------------------------------------------------------------------------------------


def run(url: str, binary: str | None, plan: Plan, mode: str) -> dict[str, Any]:
    started = time.monotonic()
    client = redis.Redis.from_url(url, single_connection_client=True)
    bulk = redis.Redis.from_url(url)
    bench = Bench(client, bulk, plan)
    try:
        env = environment(client, binary)
        res: dict[str, Any] = {"env": env, "mode": mode, "quick": mode == "quick"}
        print("measuring memory and bulk creation ...", file=sys.stderr, flush=True)
        res["memory_and_bulk"] = bench.memory_and_bulk()
        print("measuring claim vs SET ...", file=sys.stderr, flush=True)
        res["claim_vs_set"] = bench.claim_vs_set()
        print("measuring claim latency vs depth ...", file=sys.stderr, flush=True)
        res["latency"] = bench.latency()
        res["redis_peak_bytes"] = int(client.info("memory")["used_memory_peak"])
        res["elapsed_s"] = time.monotonic() - started
        print_report(env, plan, mode, res)
        print(json.dumps(res, sort_keys=True))
        require_finite(res, "bench/board.py")
        return res
    finally:
        if binary is None:  # someone else's server: leave it as we found it
            bench.cleanup()
        client.close()
        bulk.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smaller sizes")
    sizes.add_argument("--smoke", action="store_true", help="correctness only: tiny sizes")
    parser.add_argument("--redis-url", help="use this Redis instead of starting a throw-away one")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    plan = {"smoke": SMOKE, "quick": QUICK, "full": FULL}[mode]
    if args.redis_url:
        run(args.redis_url, None, plan, mode)
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="ruche-bench-") as data_dir,
        RedisServer(Path(data_dir), appendonly=False) as server,
    ):
        run(server.url, server.binary, plan, mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
