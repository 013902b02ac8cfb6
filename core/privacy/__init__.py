"""Personal data and deletion: a volunteer's export and erasure, deleting a task, a project or
an organisation, and per-project retention, in bounded batches that survive a crash.

- ``export``: everything held about a volunteer, as JSON (GDPR articles 15 and 20);
- ``volunteers``: erasing a volunteer (article 17): the account goes, answers stay under a
  pseudonym;
- ``projects``: deleting tasks and projects, and retention;
- ``organisations``: deleting an organisation with everything under it;
- ``jobs``: the queue of deletion jobs and the runner the scheduler calls;
- ``starting``: deleting a project or a task from asyncio code in one call (the API, the
  NGO's console).
"""

from core.privacy.export import export_volunteer
from core.privacy.jobs import JobsReport, job_ids, run_due_jobs
from core.privacy.organisations import org_deletion
from core.privacy.projects import (
    project_deletion,
    sweep_project_retention,
    task_deletion,
    task_job,
)
from core.privacy.volunteers import start_volunteer_erasure

__all__ = [
    "JobsReport",
    "export_volunteer",
    "job_ids",
    "org_deletion",
    "project_deletion",
    "run_due_jobs",
    "start_volunteer_erasure",
    "sweep_project_retention",
    "task_deletion",
    "task_job",
]
