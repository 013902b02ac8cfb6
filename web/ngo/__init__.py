"""The NGO console (``/ngo/…``): the pages an organisation's staff run their projects from.

How it fits together, and how to add a page
===========================================

People and roles. Staff are ordinary accounts (the volunteers' sign-in: e-mailed link or
recovery code) with a membership per organisation and a role, kept by
:mod:`core.accounts.staff` (``Role``: viewer < reviewer < manager < owner; ``role.can(action)``
with actions ``see``, ``review``, ``change`` (projects, data, reviewer grants),
``manage_people``, ``manage_keys``, ``manage_webhook``). Owners invite people by e-mail
(:mod:`core.accounts.staff_invitations`, :mod:`web.ngo.invitations`, :mod:`web.ngo.people`).

URLs. ``/ngo`` lists my organisations (one: straight to it); an organisation's pages are under
``/ngo/orgs/{org_id}/…`` (``/ngo/orgs/{org_id}`` is its projects); a project's pages are under
``/ngo/projects/{project_id}/…`` with no organisation in the URL (a person may be on several
staffs): the guard finds the project's organisation and checks the membership.

1. The guard (:mod:`web.ngo.guard`). Every handler starts with one of::

       staff = await staff_visit(request, org_id, needs=Role.MANAGER)
       staff, project_id = await project_visit(request, project_id, needs=Role.MANAGER)

   Not signed in: to ``/login``; not on the staff: 404 (the same as an id that never existed;
   another organisation's project is the same 404 as a random id); a role below ``needs``:
   403. Give every POST handler the role its change needs (not the page's): the guard is
   what refuses a viewer who posts a form by hand. Then ``form = await staff.form()`` (the
   CSRF check). ``staff.projects`` (``core.projects.store.Projects``), ``staff.board``,
   ``staff.client``, ``staff.now_ms()`` (the board clock: a test's manual clock) are there.

2. The nav (:mod:`web.ngo.nav`). A new section of an organisation appends a ``NavEntry`` to
   ``NAV`` (key, ``N_`` label, path with ``{org_id}``, the least role that sees it). No entry
   for a section that is not built (never a placeholder page).

3. Templates. ``web/ngo/templates/ngo/<page>.html`` extends ``ngo/base.html`` (the nav) and
   fills the block ``console``; render with ``render(staff.page, "ngo/x.html",
   section="<nav key>", **staff.context(), **Formats(locale).helpers())``.
   ``staff.can("change")`` in a template hides the controls a role may not use (the guard
   refuses them anyway). Charts: :mod:`web.ngo.charts` and ``{% include "ngo/chart.html" %}``
   (SVG plus a table for screen readers); CSS in ``web/static/css/60-ngo.css`` (no ``style=``:
   CSP). Strings ``{{ _("…") }}``; French in ``web/locale/fr/LC_MESSAGES/ngo.po``.

4. Audit. Every change made in the console is recorded with who made it: a project change
   with ``await staff.audit(project_id, "project.<verb>", field="…")`` (an ``audit`` event in
   the project's event stream, :mod:`core.projects.audit`); staff changes go to the
   organisation's own audit stream (:mod:`core.accounts.staff`).

5. Tests. In process: ``tests/web/test_ngo_roles.py`` holds the roles matrix: add every new
   route to its route lists (each role's expected status). In Chromium:
   ``tests/web/test_ngo_pages.py`` (staff invited and signed in through the mailbox). The
   in-process scene (an organisation with one signed-in person per role, and an outsider) is
   ``tests/support/ngo_staff.py``.

The charts (:mod:`web.ngo.charts`: server-drawn SVG with a data table each) are rendered by
``ngo/chart.html``.
"""
