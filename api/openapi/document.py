"""The app's OpenAPI document: FastAPI's, with every route's examples added as written, and
the bearer scheme on every operation that needs a token (:mod:`api.openapi.security`).

The examples (:mod:`api.openapi.ngo_examples`, :mod:`api.openapi.volunteer_examples`,
:mod:`api.openapi.privacy_examples`) are added
when the document is first rendered, not when the routes are declared: by then every task type
is registered, plugins included, and each that declares an example shows it. They go in after
FastAPI renders the document, which drops every null (``exclude_none``): an example showing a
nullable field null (a live key's ``revoked_at``) keeps it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

import task_types
from api.openapi import limit_examples, ngo_examples, privacy_examples, volunteer_examples
from api.openapi.blocks import Fragment
from api.openapi.samples import RouteExamples, Samples, samples_of
from api.openapi.security import add_security

__all__ = ["BY_ROUTE", "add_examples", "openapi_with_examples", "route_examples"]

#: Every route's examples, by method and path.
BY_ROUTE: dict[tuple[str, str], RouteExamples] = {
    **ngo_examples.BY_ROUTE,
    **limit_examples.BY_ROUTE,
    **volunteer_examples.BY_ROUTE,
    **privacy_examples.BY_ROUTE,
}


def openapi_with_examples(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: FastAPI's document (cached by FastAPI), its examples and security
    requirements added once."""
    completed: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal completed
        document = FastAPI.openapi(app)
        if document is not completed:
            add_examples(document, samples_of(task_types.all_types()))
            add_security(document, app.routes)
            completed = document
        return document

    return openapi


def route_examples(method: str, path: str, samples: Samples) -> Fragment:
    """One route's examples, as merged into its operation object."""
    examples = BY_ROUTE[method.upper(), path]
    return examples(samples) if callable(examples) else examples


def add_examples(document: dict[str, Any], samples: Samples) -> None:
    """Every route's examples into a rendered document (a route missing from it is a KeyError:
    the table and the routes must agree)."""
    for method, path in BY_ROUTE:
        _merge(document["paths"][path][method.lower()], route_examples(method, path, samples))


def _merge(rendered: dict[str, Any], written: Mapping[str, Any]) -> None:
    for key, value in written.items():
        if key != "examples" and isinstance(value, Mapping) and isinstance(rendered.get(key), dict):
            _merge(rendered[key], value)
        else:
            rendered[key] = copy.deepcopy(value)
