"""A volunteer's keys share the hash tag ``{v:<id>}`` (one slot, so one node of a cluster), and
``ruche migrate`` moves keys of the older, untagged layout to it: content and time to live
kept, safe to repeat, on one Redis and on a cluster (where old and new names sit on two nodes)."""

from __future__ import annotations

import os
import subprocess
import sys

import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from core.ids import new_volunteer_id
from core.redis.keys import Keys
from core.redis.migrations import migrate_volunteer_keys
from tests.support.limits import clean_env
from tests.support.redis_cluster import RedisClusterUnderTest

KEYS = Keys()


def test_a_volunteers_keys_share_one_slot() -> None:
    volunteer = new_volunteer_id()
    names = [
        KEYS.volunteer(volunteer),
        KEYS.volunteer_live(volunteer),
        KEYS.volunteer_stats(volunteer),
        KEYS.volunteer_feedback(volunteer),
        KEYS.reputation(volunteer),
        KEYS.volunteer_sessions(volunteer),
        KEYS.volunteer_projects(volunteer),
        KEYS.volunteer_certificates(volunteer),
    ]
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert all(f"{{v:{volunteer}}}" in name for name in names)


def write_old_layout(client: redis.Redis | RedisCluster, volunteer: str) -> None:
    old = f"{KEYS.prefix}vol:{volunteer}"
    client.hset(old, mapping={"display_name": "Ada", "charter": "1"})
    client.zadd(f"{old}:live", {"p1.t1.a1": 123})
    client.pexpire(f"{old}:live", 60_000)
    client.lpush(f"{old}:feedback", "first", "second")
    client.sadd(f"{old}:sessions", "s1", "s2")


def assert_new_layout(client: redis.Redis | RedisCluster, volunteer: str) -> None:
    assert client.hgetall(KEYS.volunteer(volunteer)) == {"display_name": "Ada", "charter": "1"}
    assert client.zrange(KEYS.volunteer_live(volunteer), 0, -1, withscores=True) == [
        ("p1.t1.a1", 123.0)
    ]
    assert 0 < int(client.pttl(KEYS.volunteer_live(volunteer))) <= 60_000
    assert client.lrange(KEYS.volunteer_feedback(volunteer), 0, -1) == ["second", "first"]
    assert client.smembers(KEYS.volunteer_sessions(volunteer)) == {"s1", "s2"}
    assert not client.exists(f"{KEYS.prefix}vol:{volunteer}", f"{KEYS.prefix}vol:{volunteer}:live")


def test_migrate_moves_the_old_layout_once_on_one_redis(redis_client: redis.Redis) -> None:
    volunteers = [new_volunteer_id() for _ in range(3)]
    for volunteer in volunteers:
        write_old_layout(redis_client, volunteer)
    done = migrate_volunteer_keys(redis_client, KEYS)
    assert (done.moved, done.merged, done.conflicts) == (12, 0, 0)
    for volunteer in volunteers:
        assert_new_layout(redis_client, volunteer)
    again = migrate_volunteer_keys(redis_client, KEYS)
    assert (again.moved, again.merged, again.conflicts) == (0, 0, 0)
    for volunteer in volunteers:
        assert_new_layout(redis_client, volunteer)


def test_a_key_under_both_names_is_merged_where_it_can_be(redis_client: redis.Redis) -> None:
    volunteer = new_volunteer_id()
    write_old_layout(redis_client, volunteer)
    redis_client.hset(KEYS.volunteer(volunteer), "display_name", "Ada L.")  # written since
    redis_client.lpush(KEYS.volunteer_feedback(volunteer), "newer")
    done = migrate_volunteer_keys(redis_client, KEYS)
    assert (done.moved, done.merged, done.conflicts) == (2, 1, 1)
    assert redis_client.hgetall(KEYS.volunteer(volunteer)) == {
        "display_name": "Ada L.",  # the newer value stays
        "charter": "1",
    }
    assert redis_client.exists(f"{KEYS.prefix}vol:{volunteer}:feedback")  # left for a person


def test_ruche_migrate_moves_the_old_layout_on_a_cluster(
    redis_cluster: RedisClusterUnderTest,
) -> None:
    client = redis_cluster.client()
    try:
        volunteers = [new_volunteer_id() for _ in range(4)]
        for volunteer in volunteers:
            write_old_layout(client, volunteer)
        env = clean_env()
        env.update(
            RUCHE_REDIS_URL=redis_cluster.url,
            RUCHE_REDIS_CLUSTER="1",
            RUCHE_BROKER_URL="redis://127.0.0.1:9/0",
        )
        for expected in ("16 moved", "0 moved"):
            ran = subprocess.run(
                [sys.executable, "-m", "ruche", "migrate"],
                env={**env, "PATH": os.environ.get("PATH", "")},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert ran.returncode == 0, ran.stderr
            assert expected in ran.stdout, ran.stdout
        for volunteer in volunteers:
            assert_new_layout(client, volunteer)
    finally:
        client.close()
