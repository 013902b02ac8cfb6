"""Deleting an organisation with everything under it (job ``org:<id>``).

At once (:func:`org_deletion`): its API keys stop working and it answers 404. Then each of its
projects is deleted (a job each, :mod:`core.privacy.projects`), then its webhook deliveries,
idempotency records, the invitations it issued, the volunteers' stats per organisation
(``org:<id>:…`` fields: their totals stay, and later certificates count that work on a line
without an organisation), the rate limits' counters named by it, its limits, bulk lock,
webhook, keys and profile.

Certificates already issued stay as signed: they are the volunteers' own record of what they
did, and state the organisation's name and id as they were then (no data of the
organisation's own). A volunteer erasing their account deletes them (core.privacy.volunteers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core import ids
from core.accounts.staff import STAFF_FLAG
from core.board.script_calls import Commands, text
from core.privacy.batches import delete_each, drain_families, glob_escape, hash_page, scan_page
from core.privacy.jobs import JobContext, Phase, Step, queue_commands
from core.privacy.projects import admissions, project_deletion
from core.redis.keys import Keys

__all__ = ["PHASES", "org_deletion"]


def org_deletion(keys: Keys, org_id: str, key_hashes: Sequence[str], now_ms: int) -> Commands[None]:
    """What deleting an organisation does at once: its keys stop working, it is marked
    ``deleting`` (404 from then on), and its job is queued."""
    commands: list[tuple[str | int, ...]] = [("DEL", keys.token(h)) for h in key_hashes]
    commands.append(("HSET", keys.org(org_id), "deleting", now_ms))
    commands += queue_commands(
        keys, f"org:{org_id}", {"kind": "org", "target": org_id, "created": now_ms}, now_ms
    )
    return Commands(commands, lambda _: None)


def org_projects(ctx: JobContext, state: dict[str, str]) -> Step:
    """Each of the organisation's projects is deleted (a job of its own)."""
    org_id, keys = state["target"], ctx.keys
    members = ctx.client.srandmember(keys.org_projects(org_id), ctx.batch)
    if not members:
        return Step.DONE
    for member in members:
        project_id = text(member)
        if not ids.PROJECT_ID.match(project_id):
            ctx.client.srem(keys.org_projects(org_id), project_id)
            continue
        ctx.board.run(project_deletion(keys, project_id, org_id, ctx.now_ms))
    return Step.MORE


def org_deliveries(ctx: JobContext, state: dict[str, str]) -> Step:
    org_id, keys = state["target"], ctx.keys
    cursor = int(state.get("c_scan", "0"))
    cursor, page = ctx.client.zscan(
        keys.webhook_due, cursor, match=f"{glob_escape(org_id)}|*", count=ctx.batch
    )
    if page:
        ctx.client.zrem(keys.webhook_due, *[member for member, _ in page])
    state["c_scan"] = str(cursor)
    if cursor != 0:
        return Step.MORE
    state.pop("c_scan")
    families = [
        keys.org_deliveries(org_id), keys.org_delivery_bodies(org_id),
        keys.org_delivery_log(org_id),
    ]  # fmt: skip
    step = drain_families(ctx, state, families)
    if step is Step.DONE:
        return Step.DONE
    state["c_scan"] = "0"  # come back through the due set: cheap, and nothing is missed
    return step


def org_idempotency(ctx: JobContext, state: dict[str, str]) -> Step:
    pattern = ctx.keys.idempotency(glob_escape(state["target"]), "*")
    found, over = scan_page(ctx.client, state, pattern, ctx.batch)
    delete_each(ctx.client, found)
    return Step.DONE if over else Step.MORE


def org_invitations(ctx: JobContext, state: dict[str, str]) -> Step:
    """The volunteer invitations the organisation issued (core.accounts.invitations)."""
    index = ctx.keys.invitations(state["target"])
    page, over = hash_page(ctx.client, index, state, ctx.batch)
    if page:
        pipe = ctx.client.pipeline(transaction=False)
        for invitation_id, digest in page.items():
            pipe.delete(ctx.keys.invitation(digest))  # two keys, two slots: two commands
            pipe.delete(ctx.keys.invitation_id(invitation_id))
        pipe.hdel(index, *page)
        pipe.execute()
    return Step.DONE if over else Step.MORE


def org_volunteer_stats(ctx: JobContext, state: dict[str, str]) -> Step:
    """Volunteers' stats per organisation (``org:<id>:…`` fields, what certificates list, and
    ``orgm:<id>:…``, the same by month): one SCAN page of stats keys. Their totals stay; later
    certificates count that work on a line without an organisation."""
    found, over = scan_page(
        ctx.client, state, ctx.keys.volunteer_stats("*"), ctx.batch, type_="hash"
    )
    needle = f"org[m:]*{glob_escape(state['target'])}:*"
    prefixes = (f"org:{state['target']}:", f"orgm:{state['target']}:")
    for key in found:
        fields = [
            text(f)
            for f, _ in ctx.client.hscan_iter(key, match=needle, count=500)
            if text(f).startswith(prefixes)
        ]
        if fields:
            ctx.client.hdel(key, *fields)
    return Step.DONE if over else Step.MORE


def org_rate_limits(ctx: JobContext, state: dict[str, str]) -> Step:
    """The rate limits' counters named by the organisation (``bulk_tasks``): one SCAN page."""
    pattern = f"{ctx.keys.rate_limits}:*{glob_escape(state['target'])}*"
    found, over = scan_page(ctx.client, state, pattern, ctx.batch)
    delete_each(ctx.client, found)
    return Step.DONE if over else Step.MORE


def org_staff(ctx: JobContext, state: dict[str, str]) -> Step:
    """Its staff (core.accounts.staff): each member's index entry, the members hash, the staff
    audit stream, and the staff invitations still out (core.accounts.staff_invitations)."""
    org_id, keys = state["target"], ctx.keys
    members = [text(v) for v in ctx.client.hkeys(keys.org_members(org_id))]
    digests = [text(d) for d in ctx.client.zrange(keys.org_staff_invitations(org_id), 0, -1)]
    for volunteer_id in members:
        ctx.client.hdel(keys.volunteer_orgs(volunteer_id), org_id)
        if not ctx.client.hlen(keys.volunteer_orgs(volunteer_id)):  # on no staff any more
            ctx.client.hdel(keys.volunteer(volunteer_id), STAFF_FLAG)
    pipe = ctx.client.pipeline(transaction=False)
    for digest in digests:
        pipe.delete(keys.staff_invitation(digest))
    for key in (keys.org_members(org_id), keys.org_audit(org_id)):
        pipe.delete(key)  # one key a command: each is in its own slot on a cluster
    pipe.delete(keys.org_staff_invitations(org_id))
    pipe.execute()
    return Step.DONE


def org_keys(ctx: JobContext, state: dict[str, str]) -> Step:
    org_id, keys = state["target"], ctx.keys
    families = [
        keys.org_webhook(org_id), keys.org_keys(org_id), keys.org_projects(org_id),
        keys.org_limits(org_id), keys.org_bulk_lock(org_id), keys.org_key_used(org_id),
        keys.org(org_id),
    ]  # fmt: skip
    return drain_families(ctx, state, families)


PHASES: Mapping[str, Sequence[Phase]] = {
    "org": (
        org_projects, org_deliveries, org_idempotency, org_invitations, org_volunteer_stats,
        admissions, org_rate_limits, org_staff, org_keys,
    ),
}  # fmt: skip
