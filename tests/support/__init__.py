"""What the tests share: helpers, scenarios and stand-ins, never tests or fixtures.

Fixtures stay in each folder's ``conftest.py``; what a test imports comes from here.

- ``api/``: the app in-process (``client``), an NGO's calls (``ngo``), volunteers and reviewers
  in a scene (``volunteers``), whole seeded tenants (``tenants``) and the per-route tables of
  the generated checks (``route_cases``).
- ``board``: ``TestBoard``, a ``Board`` with a synchronous call for every board operation.
- ``delivery``: a real webhook receiver, a test clock and published results.
- ``pipeline``: pipeline scenarios on a real board, and dramatiq workers in-process.
- ``idempotency_scenarios``: one scenario per routed actor, for the run-twice tests.
- ``live_ruche``: Ruche's commands as real processes, and an NGO's results cursor over HTTP.
- ``ruche_up``: ``ruche up`` as a subprocess, and what /proc says of its processes.
- ``crash_run``: the content, receiver, fleet and chaos of the crash run.
- ``processes``: stopping process groups, waiting on a condition, the default signal handling
  the session gives every process it starts.
- ``own_redis``: the session's own throw-away ``redis-server`` (one per xdist worker).
- ``servers/``: real local HTTP servers and proxies for the NGO client's tests.
- ``worker_modules/``: modules real dramatiq processes load next to Ruche's actors.
- ``canary_task_type``: a plugin task type whose aggregation always fails.
- ``plugin_task_type``: a well-behaved plugin task type, known to nothing but its own module.
- ``logs``, ``snapshots``, ``streams``, ``threads``, ``project_edits``: reading what logging
  writes, a whole store's content, a Redis stream's entries as text, hammering the store from
  threads, edits of distinct project fields.
"""
