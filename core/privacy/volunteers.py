"""A volunteer's right to erasure: their account goes, their answers stay without their identity.

:func:`start_volunteer_erasure` does, in the request, what must hold at once: the token record
is deleted (the token stops working: the API process that served the request forgets it too,
another one within :data:`core.accounts.store.VOLUNTEER_TOKEN_TTL_SECONDS` for the routes that
do not read the profile, which are only the volunteer's own leases, ended below), and the
profile (display name, languages, skills…) is deleted, so every route reading it refuses the
token at once (a claim on a profile another process remembered too: its reservation finds the
profile gone, core.accounts.store). Their web sessions, recovery code and e-mail address index
entry go at the same time. It then queues the job ``vol:<id>``, whose phases (:data:`PHASES`):

1. delete any other token record of the volunteer (only for accounts made before the profile
   kept its token's hash: a SCAN of token records), and the sign-in links mailed to them and
   not used yet (a SCAN of those records, which expire within minutes anyway);
2. release their live assignments (the slots go back to the queue);
3. visit every project, one bounded batch at a time: withdraw review rights (ending live review
   leases), drop the qualification record, and replace the volunteer's id by a **pseudonym** in
   the answers they gave, the assignment and review records, the review decisions and the
   results feed's contributors; delete the project's events naming them once the relay has
   handled them (the job waits for that), then their counters in the project's insights
   (``P:insights:vol``, ``P:insights:vol_rank``) and their "instructions unclear" reports and
   marks (``P:unclear``, ``P:unclear:seen``), then their "already claimed" set;
4. delete their certificates (a SCAN of certificate records: the person's list keeps only the
   latest ones, and each record states their display name); a certificate's public page then
   answers "no such certificate", as for an id never issued;
5. delete the rate limits' counters named by their id (``claims``, ``releases``, ``token``: a
   SCAN of ``G:limits:*<id>*``; they would expire within two windows anyway), late, so that no
   request of theirs still in flight when the erasure started leaves one behind;
6. delete their own keys: live slots, stats (the accepted answers behind the growing live cap
   among them), feedback (what "My work" shows), reputation, the projects they worked on and
   the list of their certificates.

Invitation codes they joined with keep only a count of uses, never who used them: nothing to
erase there.

The pseudonym is ``anon_`` and 20 hex digits of HMAC-SHA256(a random key made for this erasure,
the project id): the same within a project (a result still shows how many people agreed), a
different one in each project, and the key is deleted with the job, so nothing left can link a
pseudonym back to the person or to their other projects. A pseudonym is not a volunteer id, so
no worker ever writes stats, feedback or reputation under it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import redis
import redis.asyncio

from core import ids
from core.accounts.emails import email_digest
from core.board.script_calls import ScriptCall, text
from core.errors import RucheError
from core.insights.rollup import forget_volunteer
from core.insights.unclear import forget_reports
from core.privacy.batches import delete_each, drain_key, filter_stream, hash_page, scan_page
from core.privacy.jobs import JobContext, Phase, Step, queue_commands
from core.redis.keys import Keys
from core.redis.scripts import ScriptName

__all__ = [
    "ERASED_RELEASE_REASON",
    "PHASES",
    "PSEUDONYM_PREFIX",
    "pseudonym",
    "start_volunteer_erasure",
    "volunteer_job_id",
]

PSEUDONYM_PREFIX = "anon_"
ERASED_RELEASE_REASON = "account_erased"
#: A volunteer's erasure starts its batches this long after the request: enough for requests
#: in flight on other API processes (which may still hold the token for a moment) to end.
SETTLE_MS = 2_000


def volunteer_job_id(volunteer_id: str) -> str:
    return f"vol:{volunteer_id}"


def pseudonym(secret: str, project_id: str) -> str:
    digest = hmac.new(secret.encode(), project_id.encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:20]


def _volunteer_keys(keys: Keys, volunteer_id: str) -> list[str]:
    """The volunteer's own keys (see core.redis.keys)."""
    return [
        keys.volunteer(volunteer_id),
        keys.volunteer_live(volunteer_id),
        keys.volunteer_stats(volunteer_id),
        keys.volunteer_feedback(volunteer_id),
        keys.reputation(volunteer_id),
        keys.volunteer_sessions(volunteer_id),
        keys.volunteer_projects(volunteer_id),
        keys.volunteer_certificates(volunteer_id),
        keys.volunteer_admitted(volunteer_id),
    ]


async def start_volunteer_erasure(
    client: redis.asyncio.Redis,
    keys: Keys,
    volunteer_id: str,
    now_ms: int,
    *,
    token_hash: str | None = None,
) -> set[str] | None:
    """Erase the volunteer (see the module docstring); returns the hashes of the tokens that
    stopped working (for the caller to forget), or None when there is no such volunteer and no
    erasure of theirs under way. Safe to repeat."""
    if not ids.VOLUNTEER_ID.match(volunteer_id):
        return None
    job_id = volunteer_job_id(volunteer_id)
    profile_key = keys.volunteer(volunteer_id)
    pipe: Any = client.pipeline(transaction=False)
    pipe.hmget(profile_key, ["token", "email", "recovery"])
    pipe.exists(profile_key)
    pipe.exists(keys.privacy_job(job_id))
    pipe.smembers(keys.volunteer_sessions(volunteer_id))
    (stored, email, recovery), exists, queued, sessions = await pipe.execute()
    if not exists and not queued:
        return None
    known = {h for h in (token_hash, text(stored) if stored else None) if h}
    pipe = client.pipeline(transaction=False)
    for digest in sorted(known):
        pipe.delete(keys.token(digest))
    # Every other way in ends too: web sessions, the recovery code, the e-mail address's index
    # entry (another account may take the address afterwards) and its sign-in link counter.
    for session in sorted(text(s) for s in sessions):
        pipe.delete(keys.web_session(session))
    pipe.delete(keys.volunteer_sessions(volunteer_id))
    if recovery:
        pipe.delete(keys.recovery_code(text(recovery)))
    if email:
        digest = email_digest(text(email))
        # Only if still theirs: nobody else can take an address while its entry exists.
        if text(await client.get(keys.email(digest)) or "") == volunteer_id:
            pipe.delete(keys.email(digest))
        pipe.delete(keys.signin_sent(digest))
    fields = {
        "kind": "volunteer",
        "target": volunteer_id,
        "secret": secrets.token_hex(32),
        "scan_tokens": "0" if stored else "1",
        "created": now_ms,
    }
    for command in queue_commands(keys, job_id, fields, now_ms + SETTLE_MS):
        pipe.execute_command(*command)
    pipe.delete(profile_key)  # last: a crash before leaves a profile and a queued job
    await pipe.execute()
    return known


# -- phases --------------------------------------------------------------------------------


def _scan_delete(ctx: JobContext, state: dict[str, str], pattern: str, needle: str) -> Step:
    """One SCAN page of keys matching ``pattern``; those whose value holds ``needle`` go."""
    found, over = scan_page(ctx.client, state, pattern, ctx.batch)
    if found:
        pipe: Any = ctx.client.pipeline(transaction=False)
        for key in found:  # one GET each: the keys sit in any slot of a cluster
            pipe.get(key)
        values = pipe.execute()
        delete_each(
            ctx.client, [k for k, v in zip(found, values, strict=True) if v and needle in text(v)]
        )
    return Step.DONE if over else Step.MORE


def volunteer_tokens(ctx: JobContext, state: dict[str, str]) -> Step:
    """Token records of accounts made before the profile kept its token's hash."""
    if state.get("scan_tokens") != "1":
        return Step.DONE
    needle = f'"id": "{state["target"]}"'
    return _scan_delete(ctx, state, ctx.keys.token("*"), needle)


def volunteer_links(ctx: JobContext, state: dict[str, str]) -> Step:
    """Sign-in links mailed to them and not used yet (they expire within minutes anyway)."""
    return _scan_delete(ctx, state, ctx.keys.signin_link("*"), f'"vol": "{state["target"]}"')


def volunteer_certificates(ctx: JobContext, state: dict[str, str]) -> Step:
    """Their certificates, wherever listed or not (one SCAN page of certificate records)."""
    found, over = scan_page(ctx.client, state, ctx.keys.certificate("*"), ctx.batch)
    if found:
        pipe: Any = ctx.client.pipeline(transaction=False)
        for key in found:
            pipe.hget(key, "record")
        records = pipe.execute()
        owner = f'"volunteer_id":"{state["target"]}"'  # canonical JSON: no spaces
        delete_each(
            ctx.client, [k for k, r in zip(found, records, strict=True) if r and owner in text(r)]
        )
    return Step.DONE if over else Step.MORE


def volunteer_rate_limits(ctx: JobContext, state: dict[str, str]) -> Step:
    """The rate limits' counters named by their id (one SCAN page)."""
    # An id is [a-z0-9_]: nothing to escape in the pattern.
    pattern = f"{ctx.keys.rate_limits}:*{state['target']}*"
    found, over = scan_page(ctx.client, state, pattern, ctx.batch)
    delete_each(ctx.client, found)
    return Step.DONE if over else Step.MORE


def volunteer_leases(ctx: JobContext, state: dict[str, str]) -> Step:
    """Their live assignments go back to the queue."""
    volunteer_id, board = state["target"], ctx.board
    live = ctx.keys.volunteer_live(volunteer_id)
    members: Any = ctx.client.zrange(live, 0, ctx.batch - 1)
    for member in members:
        assignment_id = text(member)
        if not assignment_id.startswith("res:"):
            # Refused: it ended meanwhile, or its project is gone.
            with contextlib.suppress(RucheError, ids.InvalidId):
                board.run(board.ops.release(assignment_id, volunteer_id, ERASED_RELEASE_REASON))
        ctx.client.zrem(live, member)
    return Step.MORE if ctx.client.exists(live) else Step.DONE


def _pseudonymise(
    ctx: JobContext, key: str, volunteer_id: str, alias: str, fields: Sequence[str]
) -> None:
    if fields:
        ctx.board.run(pseudonymise(key, volunteer_id, alias, fields))


def _records(
    ctx: JobContext, state: dict[str, str], key: str, volunteer_id: str, alias: str
) -> bool:
    """One HSCAN page of a hash of JSON records: those naming the volunteer get the alias."""
    page, over = hash_page(ctx.client, key, state, ctx.batch)
    quoted = f'"{volunteer_id}"'
    _pseudonymise(ctx, key, volunteer_id, alias, [f for f, raw in page.items() if quoted in raw])
    return over


def _in_project(ctx: JobContext, state: dict[str, str], project_id: str) -> bool:
    """One batch of the volunteer's erasure in one project; True when the project is done."""
    volunteer_id = state["target"]
    alias = pseudonym(state["secret"], project_id)
    pk = ctx.keys.project(project_id)
    sub = state.get("c_sub", "rights")
    over = True
    if sub == "rights":
        ctx.board.run(ctx.board.ops.revoke_reviewer(project_id, volunteer_id))
        ctx.client.hdel(pk.qualification, volunteer_id)
        nxt = "answers"
    elif sub == "answers":
        cursor, tasks = ctx.client.sscan(
            pk.touched(volunteer_id), int(state.get("c_scan", "0")), count=ctx.batch
        )
        state["c_scan"] = str(cursor)
        _pseudonymise(ctx, pk.answers, volunteer_id, alias, sorted(text(t) for t in tasks))
        over, nxt = cursor == 0, "assignments"
    elif sub == "assignments":
        over, nxt = _records(ctx, state, pk.assignments, volunteer_id, alias), "reviews"
    elif sub == "reviews":
        over, nxt = _records(ctx, state, pk.review_assignments, volunteer_id, alias), "decisions"
    elif sub == "decisions":
        over, nxt = _records(ctx, state, pk.decisions, volunteer_id, alias), "results"
    elif sub == "results":
        over, nxt = _results(ctx, state, project_id, volunteer_id, alias), "events"
    elif sub == "events":
        end, left = filter_stream(
            ctx.client,
            pk.events,
            state,
            ctx.batch,
            lambda fields: any(volunteer_id in value for value in fields.values()),
            consumed_only=True,
        )
        if end and left:
            state.pop("c_stream", None)
            state.pop("c_left", None)
            state["c_wait"] = "1"
            return False
        over, nxt = end, "insights"
    elif sub == "insights":
        # After the events: none naming them is left for the insights fold to count again.
        ctx.board.run(forget_volunteer(ctx.keys, project_id, volunteer_id))
        forget_reports(ctx.client, ctx.keys, project_id, volunteer_id)
        over, nxt = True, "claimed"
    else:  # claimed
        ctx.client.delete(pk.touched(volunteer_id))
        return True
    if over:
        for name in ("c_scan", "c_stream", "c_left", "c_rewrite"):
            state.pop(name, None)
        state["c_sub"] = nxt
    return False


def _results(
    ctx: JobContext, state: dict[str, str], project_id: str, volunteer_id: str, alias: str
) -> bool:
    """The results feed: read for the volunteer's id (one page a batch); when found, copied
    with the pseudonym and put back in place (rewrite_results.lua, one page a batch)."""
    pk = ctx.keys.project(project_id)
    if state.get("c_rewrite") != "1":
        after = state.get("c_stream", "-")
        start = after if after == "-" else f"({after}"
        entries: Any = ctx.client.xrange(pk.results, start, "+", count=ctx.batch)
        quoted = f'"{volunteer_id}"'
        if any(quoted in text(raw.get("contributors", "")) for _, raw in entries):
            state["c_rewrite"] = "1"
            return False
        if entries:
            state["c_stream"] = text(entries[-1][0])
        # A copy a crashed run left behind is finished even if this run finds nothing new.
        if len(entries) == ctx.batch:
            return False
        if not ctx.client.exists(pk.results_rewrite):
            return True
        state["c_rewrite"] = "1"
    try:
        last = text(ctx.client.xinfo_stream(pk.results)["last-generated-id"])
    except redis.ResponseError:
        last = ""  # no feed (any more)
    return ctx.board.run(
        rewrite_results(ctx.keys, project_id, volunteer_id, alias, ctx.batch, last)
    )


def rewrite_results(
    keys: Keys, project_id: str, volunteer_id: str, alias: str, batch: int, last_id: str
) -> ScriptCall[bool]:
    """One batch of the feed's copy with the pseudonym (``rewrite_results.lua``); True once the
    copy took the feed's place."""
    pk = keys.project(project_id)
    return ScriptCall(
        ScriptName.REWRITE_RESULTS,
        [pk.results, pk.results_rewrite],
        [volunteer_id, alias, batch, last_id],
        lambda reply: int(reply[0]) == 1,
    )


def pseudonymise(key: str, volunteer_id: str, alias: str, fields: Sequence[str]) -> ScriptCall[int]:
    """The volunteer's id replaced by ``alias`` in these fields of one project hash
    (``pseudonymise.lua``); returns how many changed."""
    return ScriptCall(
        ScriptName.PSEUDONYMISE, [key], [volunteer_id, alias, *fields], lambda reply: int(reply)
    )


def volunteer_projects(ctx: JobContext, state: dict[str, str]) -> Step:
    """Every project, one bounded batch at a time (see the module docstring, step 3)."""
    queue = [p for p in state.get("c_queue", "").split(",") if p]
    if not queue:
        if state.get("c_listed") == "1":
            return Step.DONE
        cursor, members = ctx.client.sscan(
            ctx.keys.projects, int(state.get("c_pscan", "0")), count=ctx.batch
        )
        state["c_pscan"] = str(cursor)
        if cursor == 0:
            state["c_listed"] = "1"
        state["c_queue"] = ",".join(sorted(text(m) for m in members))
        return Step.MORE
    if state.pop("c_wait", None):
        pass  # back from waiting for the relay: go on where it was
    done = _in_project(ctx, state, queue[0])
    if state.get("c_wait") == "1":
        return Step.WAIT
    if done:
        state.pop("c_sub", None)
        state["c_queue"] = ",".join(queue[1:])
    return Step.MORE


def volunteer_own_keys(ctx: JobContext, state: dict[str, str]) -> Step:
    """Their profile, live slots, stats, feedback, reputation, projects worked on and
    certificates list, emptied in batches."""
    for key in _volunteer_keys(ctx.keys, state["target"]):
        if not drain_key(ctx.client, key, ctx.batch):
            return Step.MORE
    return Step.DONE


def volunteer_staff(ctx: JobContext, state: dict[str, str]) -> Step:
    """Their places on organisations' staffs (core.accounts.staff): each organisation's
    members hash loses them, and its staff audit stream the entries naming them (capped at
    ``AUDIT_MAXLEN``: one read each); then their own index goes. (The console's changes to
    projects are ``audit`` events in the projects' streams, which the projects phase filters
    like every event naming them.)"""
    volunteer_id, keys = state["target"], ctx.keys
    index = keys.volunteer_orgs(volunteer_id)
    org_ids = [text(org_id) for org_id in ctx.client.hkeys(index)]
    for org_id in org_ids:
        entries: Any = ctx.client.xrange(keys.org_audit(org_id))
        doomed = [
            entry_id
            for entry_id, fields in entries or []
            if any(volunteer_id in text(value) for value in (fields or {}).values())
        ]
        if doomed:
            ctx.client.xdel(keys.org_audit(org_id), *doomed)
        # The staff invitations they sent and nobody accepted yet name them: they go too.
        invitations = keys.org_staff_invitations(org_id)
        for digest in [text(d) for d in ctx.client.zrange(invitations, 0, -1)]:
            record = ctx.client.get(keys.staff_invitation(digest))
            if record is not None and volunteer_id in text(record):
                ctx.client.delete(keys.staff_invitation(digest))
                ctx.client.zrem(invitations, digest)
        ctx.client.hdel(keys.org_members(org_id), volunteer_id)
    ctx.client.delete(index)
    return Step.DONE


PHASES: Mapping[str, Sequence[Phase]] = {
    "volunteer": (
        volunteer_tokens,
        volunteer_links,
        volunteer_leases,
        volunteer_projects,
        volunteer_staff,
        volunteer_certificates,
        volunteer_rate_limits,
        volunteer_own_keys,
    ),
}


def describe(state: Mapping[str, str]) -> dict[str, Any]:
    """A job's progress as the operator's command shows it (no secret)."""
    return {k: v for k, v in state.items() if k != "secret"}
