"""Dependency aliases for the volunteer- and reviewer-facing services (one of each per process)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from api.deps import AccountsDep, CurrentVolunteer
from core.accounts.store import VolunteerProfile
from core.board.claims import Claims
from core.review.reviewers import Reviews

__all__ = ["ClaimsDep", "CurrentProfile", "ReviewsDep"]


async def _claims(request: Request) -> Claims:
    # Built once in the lifespan (api.main): it holds the process's project catalogue.
    return cast(Claims, request.app.state.claims)


async def _reviews(request: Request) -> Reviews:
    return cast(Reviews, request.app.state.reviews)


async def _profile(me: CurrentVolunteer, accounts: AccountsDep) -> VolunteerProfile:
    return await accounts.volunteer(me.id)


ClaimsDep = Annotated[Claims, Depends(_claims)]
ReviewsDep = Annotated[Reviews, Depends(_reviews)]
#: The calling volunteer's profile (401/403 for a missing or non-volunteer token first).
CurrentProfile = Annotated[VolunteerProfile, Depends(_profile)]
