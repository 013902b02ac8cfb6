"""The Redis key layout: the one place that spells a key.

Every key of a project shares the hash tag ``{p:<project-id>}`` so that each board script touches
a single cluster slot. Per-task data lives in fields of project-level hashes rather than in keys of
its own: the claim and expiry scripts pick tasks at run time, and this way every key they touch is
still known up front and passed in KEYS (Redis Cluster), and a queued task costs a few hash fields
instead of several keys.

Layout (``P`` = ``<prefix>{p:<project-id>}``)::

    <prefix>projects          set    ids of every project (global, outside any project slot)
    P:project                 hash   board policy fields + ``doc`` (the project document, JSON)
                                     + ``doc_rev`` (revision: concurrent edits, core.projects.store)
                                     + ``evaluated_policy`` (the policy open tasks were last
                                     decided under, core.projects.reevaluation)
                                     + ``payload_bytes`` (the payload JSON its tasks hold, for
                                     the organisation's quota: create_tasks.lua adds to it)
    P:tasks                   hash   task id -> task record (JSON: state, need, live, answers, …)
    P:payloads                hash   task id -> payload (JSON, as the NGO sent it)
    P:ext                     hash   external id -> task id (idempotent bulk submission)
    P:ready                   zset   claimable task ids, best first (see board.lua's score)
    P:unclaimed               zset   the claimable ones nobody claimed yet, scored alike: where a
                                     claim looks when a volunteer's own history fills the head
                                     of P:ready (claim.lua)
    P:asg                     hash   assignment id -> assignment record (JSON)
    P:leases                  zset   live assignment id -> lease expiry (ms)
    P:answers                 hash   task id -> JSON list of submitted answers
    P:touched:<volunteer-id>  set    task ids this volunteer claimed once (never served again)
    P:events                  stream the project's event log (outbox and audit trail)
                                     read by the consumer group ``relay`` (core.events.relay)
    P:reviewers               set    volunteer ids granted review rights on this project
    P:results                 stream results in the order they were decided (the cursor feed)
    P:review_queue            zset   task ids waiting for a reviewer, best first (-priority)
    P:review_asg              hash   review id -> review lease record (JSON: task, vol, state, …)
    P:review_leases           zset   live review id -> lease expiry (ms)
    P:decisions               hash   task id -> the latest review decision (JSON)
    P:provisional             hash   task id -> its provisional answer while it waits for a
                                     reviewer (JSON: answer, confidence, by; core.quality
                                     .provisional): the aggregation's best guess, then each
                                     refit's
    P:gold                    hash   task id -> gold answer (JSON: answer, explanation)
    P:gold_pool               zset   gold task ids (score 0), what claims pick gold tasks from
    P:qual                    hash   volunteer id -> qualification record (JSON: answered,
                                     correct, rounds, passed, retry_at)
    P:published               hash   decision id -> results stream entry id (publish once)
    P:insights                hash   the project's measurements folded from P:events
                                     (core.insights.rollup): ``cursor`` (last event folded),
                                     ``d:<day>:<metric>`` per-day counts (day = UTC days since
                                     the epoch), ``t:<metric>`` totals, ``s:<day>`` the per-state
                                     counts (JSON) at the day's last fold
    P:insights:vol            hash   ``<volunteer-id>:<a|g|gc|r|x>``: answers, gold answered,
                                     gold correct, answers on tasks reopened / rejected by review
    P:insights:vol_rank       zset   volunteer id -> answers (the most active, read first)
    P:insights:review_open    zset   task id -> when its review item opened (ms), while waiting
    P:insights:review_waits   list   the waits (ms) of the last review decisions, newest first
    P:unclear                 stream "instructions unclear" reports (volunteer, task, note, at),
                                     capped (core.insights.unclear)
    P:unclear:seen            set    "<volunteer-id>:<task-id>": one report per volunteer and task
    P:results:rewrite         stream a copy of P:results being written with one volunteer's id
                                     replaced by a pseudonym (core.privacy); renamed over
                                     P:results once complete

Accounts live outside project slots (``G`` = ``<prefix>``)::

    G:token:<sha256>          string JSON {kind, id, key}: who a token belongs to (hash only)
    G:org:<org-id>            hash   name, contact_email, created, charter_text, charter_version
    G:charter                 hash   text, version: the operator's charter (unset: the built-in
                                     one, version 1; core.accounts.charter)
    G:org:<org-id>:keys       hash   key id -> JSON {hash, created, revoked}
    G:org:<org-id>:key_used   hash   key id -> when it last authenticated a request (ms; written
                                     once a minute at most per key and API process)
    G:org:<org-id>:projects   set    the organisation's project ids
    G:org:<org-id>:webhook    hash   url, secret
    G:org:<org-id>:idem:<key> string a stored bulk-submission response (Idempotency-Key, 24 h)
    G:org:<org-id>:deliveries hash   delivery id -> JSON delivery record (status, attempts, …)
    G:org:<org-id>:delivery_log zset delivery id -> created (ms): newest-first listing
    G:org:<org-id>:delivery_bodies hash delivery id -> the signed event body, built once, so
                                     every attempt of one delivery sends the same bytes
    G:project_index           hash   active project id -> small JSON summary (volunteer claims),
                                     with the ``doc_rev`` it was made from (core.projects.index)
    G:changes:projects        channel (pub/sub, not a key) a project changed: every API process
                                     drops its copies (core.projects.changes)
    G:webhook:due             zset   "<org-id>|<delivery-id>" -> when to (re)try delivery (ms)
    G:{G:webhook:due}:attempt:<message-id>  hash  member, token, alive_until: the delivery attempt
                                     a dramatiq message holds (PX: the attempt lease); the due
                                     set's name as hash tag puts it in the due set's slot
    G:retention:lock          string held (PX) by the scheduler running a retention sweep
    G:org:<org-id>:members    hash   volunteer id -> staff role (owner, manager, reviewer, viewer):
                                     who runs the organisation in the console (core.accounts.staff)
    G:org:<org-id>:audit      stream changes to the organisation's staff made in the console (who,
                                     what), capped; project changes go to the project's P:events
    G:vol:<volunteer-id>:orgs hash   org id -> staff role: the same memberships, by person (an index
                                     for listing; G:org:<org-id>:members is the truth)
    G:staff_invite:<sha256>   string JSON {org, email, role, by}: a staff invitation's token hashed;
                                     expires with the invitation, deleted when used
    G:org:<org-id>:staff_invites zset the organisation's staff invitations' hashes -> expiry (ms):
                                     what deleting the organisation deletes
    G:org:<org-id>:limits     hash   the operator's limits for this organisation (bulk_tasks,
                                     quota_tasks, quota_payload_bytes; core.accounts.quotas)
    G:org:<org-id>:bulk_lock  string held (PX) by the one bulk submission of the organisation
                                     being written (core.accounts.quotas)
    G:limits:{<limit>/<id>…}  string the rate limits' sliding-window counters (core.ratelimit;
                                     the names after ``limits:`` are the ``limits`` library's);
                                     those naming a volunteer or an organisation are deleted
                                     with it (core.privacy), the rest expire
    G:privacy:jobs            zset   deletion and erasure jobs (core.privacy.jobs): job id
                                     (``vol:<id>``, ``project:<id>``, ``task:<project>:<task>``,
                                     ``org:<id>``, ``purge:<project>``) -> when it is next due (ms)
    G:privacy:job:<job-id>    hash   the job's progress: kind, target, phase, cursor, … (gone
                                     with the job)
    G:privacy:job:<job-id>:vols set  volunteers met while deleting a project or task, whose own
                                     keys still hold references to it (gone with the job)
    G:privacy:lock:<job-id>   string held (PX) by the process running the job's batches
    G:vol:<volunteer-id>      hash   display name, languages, skills, charter (first accepted,
                                     ms), charter_version and charter:<org-id> (the versions
                                     accepted), goal, staff (1 while on an organisation's staff:
                                     core.accounts.staff), token (the SHA-256 of their token:
                                     what erasure deletes), rev (bumped by every change: what a
                                     claim on a remembered profile checks, core.accounts.store)
    G:vol:<volunteer-id>:live  zset  assignment id (or pending "res:<token>") -> expiry (ms): the
                                     live-assignment cap, pruned as entries expire
    G:vol:<volunteer-id>:stats hash  written by the stats actor: tasks (answers submitted),
                                     minutes, decided (answers whose task got a result),
                                     accepted (of those, agreeing with it),
                                     contribution:<task type>, week:<YYYY-Www>:minutes,
                                     reviews, review_minutes (review decisions made),
                                     org:<org-id>:<task type>:<tasks|minutes|amount|reviews|
                                     review_minutes> (the same per organisation and type);
                                     plus applied:<marker> -> ms, the updates already counted
                                     (kept 30 days: what makes the stats actor idempotent)
    G:vol:<volunteer-id>:projects zset project id -> when last worked on (ms), answers and
                                     reviews, the latest 100 (impact notes on "My work")
    G:vol:<volunteer-id>:feedback list  newest first, at most 50 JSON items: what reviews made
                                     of the volunteer's answers (GET /v1/me)
    G:vol:<volunteer-id>:rep  hash   reputation (core.quality.reputation_model): t:<type> and
                                     p:<type>:<project> -> JSON counts, soft:<project>:<task>
                                     -> agreement credit awaiting a review, applied:<event> -> ms
    G:recovery:<sha256>       string volunteer id whose current recovery code this is (hash only;
                                     the volunteer's ``recovery`` field holds the same hash)
    G:vol:<volunteer-id>:sessions set  the hashes of the person's web sessions (sign out
                                     everywhere)
    G:email:<sha256>          string volunteer id whose (normalised) e-mail address this is: one
                                     account per address (core.accounts.emails)
    G:signin:<sha256>         string JSON {vol, next, welcome}: a sign-in link's token hashed;
                                     expires with the link (core.accounts.links)
    G:signin_sent:<sha256>    string links mailed to one address (its hash) in the current window
    G:invite:<sha256>         hash   an invitation code hashed: id, issuer, uses, used, expires,
                                     created, project (one of the issuer's projects, or absent:
                                     the whole organisation) (core.accounts.invitations)
    G:invites:<issuer>        hash   invitation id -> its code's hash, per issuer ("admin" or an
                                     organisation id): listing
    G:invitation:<id>         string "<issuer> <code's hash>": who may revoke it (PXAT: the
                                     record's own end)

A volunteer's keys (``G:vol:<volunteer-id>…`` above) are spelled ``G:vol:{v:<volunteer-id>}…``:
they share the hash tag ``{v:<volunteer-id>}``, so on Redis Cluster they sit on one node, and one
dead master stalls the volunteers it serves only (``ruche migrate`` renames keys of the older
layout, ``core.redis.migrations``).

The pages (``web/``)::

    G:web:session:<sha256>    hash   vol, created: a web session (the cookie's token hashed)
    G:web:secret              string the random key that signs CSRF tokens and certificates,
                                     made once, shared by every API process
    G:certificate:<id>        hash   record (JSON {id, volunteer_id, figures, issued_at}, as
                                     signed), signature, revoked_at (ms, once revoked): a
                                     certificate as issued, public by its id (128 random bits)
                                     on /certificates/<id> (core.volunteers.certificates);
                                     deleted with the volunteer's account (core.privacy)
    G:vol:<volunteer-id>:certificates zset certificate id -> issued at (ms): the person's
                                     certificates, newest last (the latest is re-used while
                                     its figures still hold)
    G:vol:<volunteer-id>:admitted set project and organisation ids whose invitations the person
                                     joined or accepted with: what opens invitation-only
                                     projects to them (core.accounts.invitations)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Keys", "ProjectKeys"]


@dataclass(frozen=True, slots=True)
class ProjectKeys:
    """All keys of one project; each carries the project's hash tag."""

    base: str

    @property
    def project(self) -> str:
        return f"{self.base}:project"

    @property
    def tasks(self) -> str:
        return f"{self.base}:tasks"

    @property
    def payloads(self) -> str:
        return f"{self.base}:payloads"

    @property
    def external_ids(self) -> str:
        return f"{self.base}:ext"

    @property
    def ready(self) -> str:
        return f"{self.base}:ready"

    @property
    def unclaimed(self) -> str:
        return f"{self.base}:unclaimed"

    @property
    def assignments(self) -> str:
        return f"{self.base}:asg"

    @property
    def leases(self) -> str:
        return f"{self.base}:leases"

    @property
    def answers(self) -> str:
        return f"{self.base}:answers"

    @property
    def events(self) -> str:
        return f"{self.base}:events"

    @property
    def reviewers(self) -> str:
        return f"{self.base}:reviewers"

    @property
    def results(self) -> str:
        return f"{self.base}:results"

    @property
    def gold(self) -> str:
        return f"{self.base}:gold"

    @property
    def gold_pool(self) -> str:
        return f"{self.base}:gold_pool"

    @property
    def qualification(self) -> str:
        return f"{self.base}:qual"

    @property
    def published(self) -> str:
        return f"{self.base}:published"

    @property
    def results_rewrite(self) -> str:
        return f"{self.base}:results:rewrite"

    def touched(self, volunteer_id: str) -> str:
        return f"{self.base}:touched:{volunteer_id}"

    @property
    def review_queue(self) -> str:
        return f"{self.base}:review_queue"

    @property
    def review_assignments(self) -> str:
        return f"{self.base}:review_asg"

    @property
    def review_leases(self) -> str:
        return f"{self.base}:review_leases"

    @property
    def decisions(self) -> str:
        return f"{self.base}:decisions"

    @property
    def provisional(self) -> str:
        """Tasks waiting for a reviewer -> their provisional answer (core.quality.provisional)."""
        return f"{self.base}:provisional"

    @property
    def quality_recent(self) -> str:
        """The latest final decisions, for the quality refit (core.quality.project_quality)."""
        return f"{self.base}:quality:recent"

    @property
    def insights(self) -> str:
        return f"{self.base}:insights"

    @property
    def insights_volunteers(self) -> str:
        return f"{self.base}:insights:vol"

    @property
    def insights_volunteer_rank(self) -> str:
        return f"{self.base}:insights:vol_rank"

    @property
    def insights_review_open(self) -> str:
        return f"{self.base}:insights:review_open"

    @property
    def insights_review_waits(self) -> str:
        return f"{self.base}:insights:review_waits"

    @property
    def unclear(self) -> str:
        return f"{self.base}:unclear"

    @property
    def unclear_seen(self) -> str:
        return f"{self.base}:unclear:seen"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key templates under one configurable prefix (e.g. ``ruche:``)."""

    prefix: str = "ruche:"

    def project(self, project_id: str) -> ProjectKeys:
        return ProjectKeys(f"{self.prefix}{{p:{project_id}}}")

    @property
    def projects(self) -> str:
        return f"{self.prefix}projects"

    def token(self, token_hash: str) -> str:
        return f"{self.prefix}token:{token_hash}"

    def org(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}"

    def org_keys(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:keys"

    def org_key_used(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:key_used"

    def org_projects(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:projects"

    def org_webhook(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:webhook"

    def org_members(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:members"

    def org_audit(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:audit"

    def volunteer_orgs(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:orgs"

    def org_staff_invitations(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:staff_invites"

    def staff_invitation(self, digest: str) -> str:
        return f"{self.prefix}staff_invite:{digest}"

    def org_limits(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:limits"

    def org_bulk_lock(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:bulk_lock"

    @property
    def rate_limits(self) -> str:
        """The prefix the ``limits`` library puts before its keys (it adds a ``:``)."""
        return f"{self.prefix}limits"

    def idempotency(self, org_id: str, key_digest: str) -> str:
        return f"{self.prefix}org:{org_id}:idem:{key_digest}"

    def volunteer(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}"

    @property
    def charter(self) -> str:
        return f"{self.prefix}charter"

    @property
    def project_index(self) -> str:
        return f"{self.prefix}project_index"

    @property
    def project_changes(self) -> str:
        """A pub/sub channel, not a key (core.projects.changes)."""
        return f"{self.prefix}changes:projects"

    def org_deliveries(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:deliveries"

    def org_delivery_log(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:delivery_log"

    def org_delivery_bodies(self, org_id: str) -> str:
        return f"{self.prefix}org:{org_id}:delivery_bodies"

    @property
    def retention_lock(self) -> str:
        return f"{self.prefix}retention:lock"

    @property
    def privacy_jobs(self) -> str:
        return f"{self.prefix}privacy:jobs"

    def privacy_job(self, job_id: str) -> str:
        return f"{self.prefix}privacy:job:{job_id}"

    def privacy_job_volunteers(self, job_id: str) -> str:
        return f"{self.prefix}privacy:job:{job_id}:vols"

    def privacy_lock(self, job_id: str) -> str:
        return f"{self.prefix}privacy:lock:{job_id}"

    @property
    def webhook_due(self) -> str:
        return f"{self.prefix}webhook:due"

    def webhook_attempt(self, message_id: str) -> str:
        """Scripts touch it along with ``webhook_due``: its hash tag is that key's whole name
        (or the prefix's own tag, if it has one), so both hash to the same cluster slot."""
        return f"{self.prefix}{{{self.webhook_due}}}:attempt:{message_id}"

    def volunteer_live(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:live"

    def volunteer_stats(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:stats"

    def volunteer_feedback(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:feedback"

    def reputation(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:rep"

    def volunteer_sessions(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:sessions"

    def recovery_code(self, digest: str) -> str:
        return f"{self.prefix}recovery:{digest}"

    def web_session(self, digest: str) -> str:
        return f"{self.prefix}web:session:{digest}"

    @property
    def web_secret(self) -> str:
        return f"{self.prefix}web:secret"

    def email(self, digest: str) -> str:
        return f"{self.prefix}email:{digest}"

    def signin_link(self, digest: str) -> str:
        return f"{self.prefix}signin:{digest}"

    def signin_sent(self, email_digest: str) -> str:
        return f"{self.prefix}signin_sent:{email_digest}"

    def invitation(self, digest: str) -> str:
        return f"{self.prefix}invite:{digest}"

    def invitation_id(self, invitation_id: str) -> str:
        return f"{self.prefix}invitation:{invitation_id}"

    def invitations(self, issuer: str) -> str:
        return f"{self.prefix}invites:{issuer}"

    def volunteer_projects(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:projects"

    def certificate(self, certificate_id: str) -> str:
        return f"{self.prefix}certificate:{certificate_id}"

    def volunteer_certificates(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:certificates"

    def volunteer_admitted(self, volunteer_id: str) -> str:
        return f"{self.prefix}vol:{{v:{volunteer_id}}}:admitted"
