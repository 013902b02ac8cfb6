"""Benchmark of the pages (web/): what a volunteer's phone downloads and waits for, and what a
page view costs the server, in one run.

1. Bytes transferred per page, compressed as sent (HTML, CSS, JS, with a cold cache: a first
   visit), for the volunteer's pages: the start page, join, sign in, find work and a task page
   of each task type; and whether a task page with its CSS and JS stays within the 50 KB budget
   of WEB.md.
2. Time to a usable task page (navigation start until its "Submit" button can be pressed) under
   Chromium's "Slow 3G" network throttling (DevTools' preset: 2 s of latency, 50 kB/s), next to
   the same page unthrottled, with a cold and a warm cache.
4. The NGO console's project page with 10^5 tasks and 10^4 results next to 10^2 tasks (server
   time and CPU per view, and their ratio: the page must not read every task;
   ``bench/console_page.py``).
3. Server CPU per page view (the API process's user+system CPU time over N views, read from
   /proc) next to ``GET /healthz`` on the same server in the same run: the ratio says what a
   page costs over the cheapest request.

One ``ruche api`` process on a throw-away ``redis-server``, both stopped at the end; the pages
driven by Debian's Chromium (``RUCHE_BROWSER`` or ``/usr/bin/chromium``) through Playwright.

Usage::

    .venv/bin/python bench/web.py            # 300 views per page for the CPU figures
    .venv/bin/python bench/web.py --smoke    # tiny sizes: checks only that everything works
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console_page import measure_console  # noqa: E402

from core.redis.server import RedisServer, free_port  # noqa: E402

ADMIN = "rk_admin_" + "bench" * 8
BUDGET_BYTES = 50 * 1024
#: Chrome DevTools' "Slow 3G" preset (front_end/core/sdk/NetworkManager.ts).
SLOW_3G = {"latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
PAYLOADS: dict[str, dict[str, Any]] = {
    "translation": {
        "source_text": "Clinics open at 9:00 on weekdays; bring your card and 2 photos.",
        "source_lang": "en",
        "target_lang": "fr",
        "context": "A notice for a health centre's waiting room.",
    },
    "data_entry": {
        "document": {"text": "Registration 12\nName: Amina Diallo\nEmail: amina@example.org"},
        "fields": [
            {"name": "name", "type": "string", "label": "Full name"},
            {"name": "email", "type": "email", "label": "Email address"},
            {"name": "arrival", "type": "date", "required": False},
        ],
    },
    "moderation": {
        "content": "Meet us at the market on Sunday, everyone welcome!",
        "labels": ["ok", "spam", "abuse"],
        "policy": "Spam is advertising; abuse targets a person.",
    },
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def running_api(folder: Path) -> Iterator[tuple[str, int, str]]:
    with RedisServer(folder / "redis", appendonly=False) as redis_server:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
        env.update(
            RUCHE_REDIS_URL=redis_server.url,
            RUCHE_ADMIN_TOKEN=ADMIN,
            RUCHE_LOG_FORMAT="json",
            RUCHE_LOG_LEVEL="WARNING",
        )
        with (folder / "api.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ruche", "api", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((folder / "api.log").read_text())
                time.sleep(0.1)
            yield base, process.pid, redis_server.url
        finally:
            process.terminate()
            process.wait(timeout=20)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _setup(http: httpx.Client) -> tuple[str, dict[str, str]]:
    """An organisation with one project per task type and tasks; a volunteer who accepted the
    charter. Returns the volunteer's key and the project ids by type."""
    org = http.post(
        "/v1/orgs",
        json={"name": "Bench NGO", "contact_email": "b@example.org"},
        headers=_bearer(ADMIN),
    ).json()
    projects: dict[str, str] = {}
    for task_type, payload in PAYLOADS.items():
        made = http.post(
            "/v1/projects",
            json={
                "name": f"Bench {task_type}",
                "task_type": task_type,
                "instructions": "Do it well.",
                "languages": ["en", "fr"] if task_type == "translation" else [],
                "redundancy": 1,
            },
            headers=_bearer(org["api_key"]),
        )
        if made.status_code != 201:
            raise SystemExit(f"project {task_type}: {made.status_code} {made.text}")
        projects[task_type] = made.json()["id"]
        sent = http.post(
            f"/v1/projects/{projects[task_type]}/tasks",
            json={"tasks": [{"payload": payload} for _ in range(50)]},
            headers=_bearer(org["api_key"]),
        )
        if sent.status_code != 200:
            raise SystemExit(f"tasks {task_type}: {sent.status_code} {sent.text}")
    volunteer = http.post(
        "/v1/volunteers", json={"display_name": "Bench", "languages": ["en", "fr"]}
    ).json()
    http.post("/v1/me/charter", json={"accept": True}, headers=_bearer(volunteer["token"]))
    return str(volunteer["token"]), projects


def _release_all(base: str, key: str) -> None:
    """Gives back every task the volunteer holds (a volunteer holds only a few at once)."""
    with httpx.Client(base_url=base, headers=_bearer(key), timeout=30) as http:
        for live in http.get("/v1/me/assignments").json()["items"]:
            http.post(f"/v1/assignments/{live['id']}/release", json={"reason": "no_time"})


def _sign_in(page: Page, base: str, key: str) -> None:
    page.goto(base + "/login?lang=en")
    page.get_by_label("Recovery code or volunteer key").fill(key)
    page.get_by_role("button", name="Sign in with my code").click()
    page.wait_for_url("**/work")


def _bytes_of(context: BrowserContext, action: Any) -> tuple[int, dict[str, int]]:
    """Compressed bytes received (bodies + headers) while ``action`` runs, per resource type."""
    by_type: dict[str, int] = {}

    def count(response: Any) -> None:
        sizes = response.request.sizes()
        kind = response.request.resource_type
        received = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        by_type[kind] = by_type.get(kind, 0) + max(received, 0)

    context.on("response", count)
    try:
        action()
        # The last responses (the CSS, the JS) may be counted after the load event.
        for page in context.pages:
            page.wait_for_load_state("networkidle")
    finally:
        context.remove_listener("response", count)
    return sum(by_type.values()), by_type


def _task_page(page: Page, base: str, project_id: str) -> None:
    page.goto(base + "/work?lang=en")
    _start_task(page, project_id)


def measure_bytes(
    browser: Browser, base: str, key: str, projects: dict[str, str]
) -> dict[str, Any]:
    """Each page in a new browser context: a first visit, nothing cached."""
    report: dict[str, Any] = {}
    for name, path in (("start page", "/"), ("join", "/join"), ("sign in", "/login")):
        context = browser.new_context()
        page = context.new_page()
        total, parts = _bytes_of(context, partial(page.goto, base + path + "?lang=en"))
        report[name] = {"bytes": total, "parts": parts}
        context.close()
    signed_in = browser.new_context()
    _sign_in(signed_in.new_page(), base, key)
    cookies = signed_in.cookies()
    signed_in.close()
    for task_type, project_id in projects.items():
        context = browser.new_context()
        context.add_cookies(cookies)
        page = context.new_page()
        total, parts = _bytes_of(context, partial(page.goto, base + "/work?lang=en"))
        report["find work"] = {"bytes": total, "parts": parts}
        # The task page after find work: its CSS and JS are cached by then, so this is the
        # task page's own HTML; its budget below adds the CSS and JS as first fetched.
        total, parts = _bytes_of(context, partial(_start_task, page, project_id))
        report[f"task page ({task_type})"] = {"bytes": total, "parts": parts}
        context.close()
        _release_all(base, key)
    return report


def _start_task(page: Page, project_id: str) -> None:
    page.locator(f"form:has(input[value='{project_id}'])").get_by_role("button").click()
    page.wait_for_url("**/work/a/**")


def time_to_usable(
    browser: Browser, base: str, key: str, project_id: str, throttled: bool, runs: int
) -> dict[str, float]:
    cold, warm = [], []
    for _ in range(runs):
        context = browser.new_context()
        page = context.new_page()
        _sign_in(page, base, key)
        page.goto(base + "/work?lang=en")
        start_form = page.locator(f"form:has(input[value='{project_id}'])")
        if throttled:
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, **SLOW_3G})
        for bucket, clear in ((cold, True), (warm, False)):
            if clear:
                cdp_cache = context.new_cdp_session(page)
                cdp_cache.send("Network.clearBrowserCache")
            started = time.perf_counter()
            start_form.get_by_role("button").click()
            try:
                page.get_by_role("button", name="Submit").first.wait_for(
                    state="visible", timeout=120_000
                )
            except Exception:
                raise SystemExit(f"no usable task page at {page.url}") from None
            bucket.append(time.perf_counter() - started)
            _release_all(base, key)
            page.go_back()
            page.wait_for_load_state()
        context.close()
    return {"cold_s": statistics.median(cold), "warm_s": statistics.median(warm)}


def server_cpu(
    base: str, pid: int, key_cookies: dict[str, str], paths: list[str], views: int
) -> dict[str, float]:
    per_view: dict[str, float] = {}
    with httpx.Client(
        base_url=base, cookies=key_cookies, headers={"Accept-Encoding": "gzip"}
    ) as http:
        for path in ["/healthz", *paths, "/healthz"]:
            for _ in range(min(20, views)):  # warm-up
                http.get(path)
            before = _cpu_seconds(pid)
            for _ in range(views):
                response = http.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code}")
            spent = (_cpu_seconds(pid) - before) / views
            # /healthz twice (before and after the pages): their mean is the baseline.
            per_view[path] = (per_view[path] + spent) / 2 if path in per_view else spent
    return per_view


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes; checks only that it works"
    )
    parser.add_argument("--views", type=int, default=300, help="page views per page for CPU")
    parser.add_argument("--runs", type=int, default=3, help="timed task-page loads per setting")
    args = parser.parse_args()
    views, runs = (10, 1) if args.smoke else (args.views, args.runs)
    executable = os.environ.get("RUCHE_BROWSER", "/usr/bin/chromium")

    with (
        tempfile.TemporaryDirectory(prefix="ruche-bench-web-") as tmp,
        running_api(Path(tmp)) as (base, pid, redis_url),
    ):
        with httpx.Client(base_url=base, timeout=30) as http:
            key, projects = _setup(http)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable if Path(executable).exists() else None,
                args=[
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                ],
            )
            sizes = measure_bytes(browser, base, key, projects)
            timing = {
                "unthrottled": time_to_usable(
                    browser, base, key, projects["translation"], False, runs
                ),
                "slow 3G": time_to_usable(browser, base, key, projects["translation"], True, runs),
            }
            context = browser.new_context()
            page = context.new_page()
            _sign_in(page, base, key)
            cookies = {c["name"]: c["value"] for c in context.cookies()}
            _task_page(page, base, projects["moderation"])
            task_path = page.url.removeprefix(base)
            context.close()
            browser.close()
        cpu = server_cpu(base, pid, cookies, ["/", "/work", task_path], views)
        console = measure_console(
            base, redis_url, pid, ADMIN, smoke=args.smoke, views=10 if args.smoke else 50
        )

    print("Pages of the volunteer, bytes received with a cold cache (compressed, headers included)")
    for name, figures in sizes.items():
        print(f"  {name:55s} {figures['bytes']:7d} B  {figures['parts']}")
    static = sum(
        size
        for kind, size in sizes["find work"]["parts"].items()
        if kind in ("stylesheet", "script")
    )
    largest = max(f["bytes"] for n, f in sizes.items() if n.startswith("task page")) + static
    verdict = "within" if largest <= BUDGET_BYTES else "OVER"
    print(
        f"  a task page with its CSS and JS: at most {largest} B (budget {BUDGET_BYTES}): {verdict}"
    )
    print("Time to a usable translation task page (Submit can be pressed), median of", runs)
    for name, figures in timing.items():
        cold_ms, warm_ms = figures["cold_s"] * 1000, figures["warm_s"] * 1000
        print(f"  {name:12s} cold cache {cold_ms:7.0f} ms   warm cache {warm_ms:7.0f} ms")
    ratio = timing["slow 3G"]["cold_s"] / timing["unthrottled"]["cold_s"]
    print(f"  slow 3G / unthrottled (cold): {ratio:.1f}x")
    base_cpu = cpu["/healthz"]
    print(f"Server CPU per view (same process, {views} views each), ratio to GET /healthz")
    for path, spent in cpu.items():
        label = "task page" if path == task_path else path
        times = spent / base_cpu if base_cpu else float("nan")
        print(f"  {label:12s} {spent * 1e6:8.0f} µs  {times:5.1f}x")
    print("The console's project page, per view (median wall time, server CPU)")
    for name in ("small", "big"):
        f = console[name]
        print(
            f"  {f['tasks']:7d} tasks {f['results']:6d} results: {f['median_ms']:8.2f} ms"
            f"  {f['cpu_ms_per_view']:7.2f} ms CPU  (filled in {f['fill_s']} s)"
        )
    print(f"  big / small: {console['ratio_median']}x time, {console['ratio_cpu']}x CPU")
    print(
        json.dumps(
            {"bytes": sizes, "time_to_usable": timing, "cpu_per_view_s": cpu, "console": console}
        )
    )


if __name__ == "__main__":
    main()
