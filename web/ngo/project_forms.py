"""Creating and editing a project's whole policy, pausing, resuming and closing it.

- ``/ngo/orgs/{org_id}/projects/new`` (GET, POST): a new project;
- ``/ngo/projects/{project_id}/edit`` (GET, POST): its whole policy;
- ``POST /ngo/projects/{project_id}/state`` with ``action`` ``pause``, ``resume`` or ``close``.

All need a manager (the guard refuses a viewer or reviewer on GET and POST alike). The form is
checked by the API's own models and store (:mod:`web.ngo.policy_form`), so a rule holds the
same in the API and here. Each change is recorded in the project's event stream with who
made it (``staff.audit``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from core.accounts.staff import Role
from core.errors import InvalidRequest, ProjectClosed
from core.projects.models import Project, ProjectCreate, ProjectPatch
from task_types import all_types
from web.i18n import N_
from web.me.views import type_name
from web.ngo.guard import StaffVisit, project_visit, staff_visit
from web.ngo.policy_form import PolicyForm
from web.pages import redirect, render
from web.routing import WebRoute

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)

CLOSED_ERROR = N_("The project is closed: its state and deadline can no longer change.")


def _form_page(
    staff: StaffVisit,
    form: PolicyForm,
    *,
    action: str,
    project: Project | None,
    status_code: int = 200,
) -> Response:
    return render(
        staff.page,
        "ngo/project_form.html",
        status_code=status_code,
        section="projects",
        form=form,
        action=action,
        project=project,
        task_types=[(kind.name, type_name(kind.name)) for kind in all_types()],
        **staff.context(),
    )


@router.get("/ngo/orgs/{org_id}/projects/new")
async def new_project_form(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.MANAGER)
    defaults = PolicyForm.of_project(
        Project.model_validate(
            {
                **ProjectCreate.model_validate(
                    {"name": "-", "task_type": "-", "instructions": "-"}
                ).model_dump(),
                "id": "",
                "state": "active",
                "counts": {},
                "created_at": "1970-01-01T00:00:00Z",
                "updated_at": "1970-01-01T00:00:00Z",
            }
        )
    )
    for blank in ("name", "task_type", "instructions"):
        defaults.values[blank] = ""
    return _form_page(staff, defaults, action=request.url.path, project=None)


@router.post("/ngo/orgs/{org_id}/projects/new")
async def create_project(org_id: str, request: Request) -> Response:
    staff = await staff_visit(request, org_id, needs=Role.MANAGER)
    form = PolicyForm.read(await staff.form())
    body = form.body(creating=True)
    try:
        spec = ProjectCreate.model_validate(body)
    except ValidationError as refused:
        form.refused(refused)
    if form.errors:
        return _form_page(staff, form, action=request.url.path, project=None, status_code=422)
    try:
        project = await staff.projects.create(staff.org_id, spec)
    except InvalidRequest as refused:
        form.refused_details(refused.details)
        return _form_page(staff, form, action=request.url.path, project=None, status_code=422)
    await staff.audit(project.id, "project.created", task_type=project.task_type)
    return redirect(staff.page, f"/ngo/projects/{project.id}", flash="project_created")


@router.get("/ngo/projects/{project_id}/edit")
async def edit_project_form(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=Role.MANAGER)
    project = await staff.projects.get(staff.org_id, project_id)
    return _form_page(
        staff, PolicyForm.of_project(project), action=request.url.path, project=project
    )


@router.post("/ngo/projects/{project_id}/edit")
async def edit_project(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=Role.MANAGER)
    form = PolicyForm.read(await staff.form())
    project = await staff.projects.get(staff.org_id, project_id)
    form.values["task_type"] = project.task_type  # never changes
    body = form.body(creating=False, keep_deadline=project.state != "closed")
    try:
        patch = ProjectPatch.model_validate(body)
    except ValidationError as refused:
        form.refused(refused)
    if not form.errors:
        try:
            await staff.projects.update(staff.org_id, project_id, patch)
        except InvalidRequest as refused:
            form.refused_details(refused.details)
        except ProjectClosed:
            form.errors["deadline"] = (CLOSED_ERROR, {})
    if form.errors:
        return _form_page(staff, form, action=request.url.path, project=project, status_code=422)
    changed = sorted(name for name in body if name != "task_type")
    await staff.audit(project_id, "project.edited", fields=",".join(changed))
    return redirect(staff.page, f"/ngo/projects/{project_id}", flash="project_saved")


@router.post("/ngo/projects/{project_id}/state")
async def change_state(project_id: str, request: Request) -> Response:
    staff, project_id = await project_visit(request, project_id, needs=Role.MANAGER)
    form = await staff.form()
    action = form.get("action")
    page = f"/ngo/projects/{project_id}"
    if action == "close":
        await staff.projects.close_now(staff.org_id, project_id)
        await staff.audit(project_id, "project.closed")
        return redirect(staff.page, page, flash="project_closed")
    if action not in ("pause", "resume"):
        raise InvalidRequest("action must be pause, resume or close")
    state = "paused" if action == "pause" else "active"
    await staff.projects.update(staff.org_id, project_id, ProjectPatch(state=state))
    await staff.audit(project_id, f"project.{'paused' if action == 'pause' else 'resumed'}")
    return redirect(
        staff.page, page, flash=f"project_{'paused' if action == 'pause' else 'resumed'}"
    )
