"""The test suite's limits: generous, so that tests doing many sign-ups, claims and requests
from one address in a few seconds are not refused; the tests of the limits set low ones.

``tests/conftest.py`` puts :data:`GENEROUS_LIMITS` in the environment of the whole run (so every
``Settings()`` made in a test reads them), and the helpers that start Ruche's processes with a
clean ``RUCHE_*`` environment put them back (:func:`clean_env`).
"""

from __future__ import annotations

import os

__all__ = ["GENEROUS_LIMITS", "clean_env"]

_PLENTY = "1000000/minute"
GENEROUS_LIMITS: dict[str, str] = {
    "RUCHE_RATE_LIMIT_SIGNUP": _PLENTY,
    "RUCHE_RATE_LIMIT_UNAUTHENTICATED": _PLENTY,
    "RUCHE_RATE_LIMIT_SIGNIN_LINKS": _PLENTY,
    "RUCHE_RATE_LIMIT_TOKEN": _PLENTY,
    "RUCHE_RATE_LIMIT_CLAIMS": _PLENTY,
    "RUCHE_RATE_LIMIT_RELEASES": _PLENTY,
    "RUCHE_RATE_LIMIT_BULK_TASKS": _PLENTY,
    # A new volunteer holds as many live assignments as anybody (the cap: max_live_assignments).
    "RUCHE_LIVE_ASSIGNMENTS_START": "100",
}


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without its ``RUCHE_*`` variables, but with the suite's
    generous limits, and ``extra`` (which may set limits of its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCHE_")}
    env.update(GENEROUS_LIMITS)
    env.update(extra)
    return env
