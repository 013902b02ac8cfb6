"""The pages, served by the API's own FastAPI app: :func:`install_web` adds their routes, the
static files and what they share (:class:`WebState`, on ``app.state.web``).

Each area of the site is a subpackage with its routes, templates and translations:
``web/account`` (home, join, sign in and out, the charter), ``web/work`` (find work, practice,
the task pages), ``web/review`` (the reviewer's pages), ``web/me`` (my work, certificates).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass

import redis.asyncio
from fastapi import APIRouter, FastAPI

import web
from core.accounts.charter import Charters
from core.accounts.invitations import Invitations
from core.accounts.links import SignInLinks
from core.accounts.store import Accounts
from core.mail import Mailer
from core.redis.keys import Keys
from core.settings import Settings
from web.secret import ServerSecret
from web.sessions import Sessions
from web.static import Assets, static_router

__all__ = ["WebState", "install_web", "start_web"]


@dataclass
class WebState:
    settings: Settings
    keys: Keys
    assets: Assets
    sessions: Sessions
    secret: ServerSecret
    accounts: Accounts
    mailer: Mailer
    links: SignInLinks
    invitations: Invitations
    charters: Charters


def _area_routers() -> list[APIRouter]:
    """``router`` of every area subpackage (``web.<area>.routes``), in name order; a
    subpackage without a ``routes`` module (web/ngo before its pages) adds none."""
    routers = []
    for module in sorted(pkgutil.iter_modules(web.__path__), key=lambda m: m.name):
        if module.ispkg and importlib.util.find_spec(f"web.{module.name}.routes") is not None:
            routes = importlib.import_module(f"web.{module.name}.routes")
            routers.append(routes.router)
    return routers


def install_web(app: FastAPI) -> None:
    """Adds the pages to ``app`` (their shared state is made by :func:`start_web`)."""
    assets = Assets()
    app.state.web_assets = assets
    app.include_router(static_router(assets))
    for router in _area_routers():
        app.include_router(router)


def start_web(
    app: FastAPI, client: redis.asyncio.Redis, keys: Keys, accounts: Accounts
) -> WebState:
    """The pages' shared state, once the app's Redis client exists (the lifespan)."""
    state = WebState(
        settings=app.state.settings,
        keys=keys,
        assets=app.state.web_assets,
        sessions=Sessions(client, keys),
        secret=ServerSecret(client, keys),
        accounts=accounts,
        mailer=Mailer(app.state.settings),
        links=SignInLinks(client, keys),
        invitations=Invitations(client, keys),
        # The API's own (one per-process copy of the charter's version).
        charters=app.state.charters,
    )
    app.state.web = state
    return state
