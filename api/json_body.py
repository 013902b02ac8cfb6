"""JSON request bodies read by the route itself, refused as FastAPI refuses a declared body.

The volunteers' hot routes (claim, submit) read their body here instead of declaring it as a
parameter: with the dependency solving that goes with it, FastAPI's body handling and response
validation were a measured tenth of a claim->submit cycle's CPU (``bench/api.py``). The
refusals stay the same: a ``RequestValidationError`` with FastAPI's error types and ``body``
locations, which the app's handler turns into the one 422 shape of API.md. The route documents
its body inline with :func:`request_body` (``openapi_extra``), as the bulk task route does.

Every JSON body is read within the bounds of :mod:`core.json_input` (depth, size of numbers, no
``NaN``): here for the hot routes, and through :class:`BoundedJsonRoute` for every other route
(FastAPI parses those bodies itself, with ``Request.json()``; the route class hands its
handler a request whose ``json()`` is the bounded one).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from core import json_input

__all__ = [
    "BoundedJsonRoute",
    "inline_schema",
    "media_type",
    "read_json",
    "read_optional_json",
    "request_body",
]

T = TypeVar("T")


def media_type(request: Request) -> str:
    """The request's media type, lower-cased, without parameters ("" when it sends none)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media: str) -> bool:
    # FastAPI's rule: application/json or application/*+json; no Content-Type at all is not
    # JSON (its strict default), so such a body is refused as not being an object.
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def read_json(request: Request, adapter: TypeAdapter[T]) -> T:
    """The body validated by ``adapter``; an empty body is refused as missing."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
        )
    return _validated(raw, media_type(request), adapter)


async def read_optional_json(request: Request, adapter: TypeAdapter[T]) -> T | None:
    """The body validated by ``adapter``, or None for an empty body."""
    raw = await request.body()
    if not raw:
        return None
    return _validated(raw, media_type(request), adapter)


def _validated(raw: bytes, media: str, adapter: TypeAdapter[T]) -> T:
    data: Any = raw
    if _is_json(media):
        try:
            data = json_input.loads(raw)
        except json_input.JsonRefused as refused:
            raise RequestValidationError(
                [{"type": refused.type, "loc": ("body",), "msg": refused.msg}]
            ) from None
        except json.JSONDecodeError as error:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error"}]
            ) from None
        except UnicodeDecodeError:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body",), "msg": "not valid JSON"}]
            ) from None
    try:
        return adapter.validate_python(data)
    except ValidationError as invalid:
        errors = invalid.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


class _BoundedJsonRequest(Request):
    """A request whose ``json()`` reads the body within :mod:`core.json_input`'s bounds.

    FastAPI turns what ``json()`` raises into its 400 "error parsing the body", with the
    :class:`~core.json_input.JsonRefused` as the cause: the app's handler answers that with the
    one 422 shape, saying which bound (``api/errors.py``).
    """

    async def json(self) -> Any:
        if not hasattr(self, "_bounded_json"):
            self._bounded_json = json_input.loads(await self.body())
        return self._bounded_json


class BoundedJsonRoute(APIRoute):
    """The route class of every router: FastAPI's body parsing, within the bounds."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(_BoundedJsonRequest(request.scope, request.receive))

        return bounded


def inline_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its local ``$defs`` references expanded (for an inline OpenAPI body)."""
    defs = schema.pop("$defs", {})

    def expand(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return expand(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
            return {key: expand(value) for key, value in node.items()}
        if isinstance(node, list):
            return [expand(value) for value in node]
        return node

    return dict(expand(schema))


def request_body(model: type[BaseModel], *, required: bool) -> dict[str, Any]:
    """The ``openapi_extra`` fragment documenting a JSON body of ``model``."""
    schema = inline_schema(model.model_json_schema())
    if not required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    body: dict[str, Any] = {"content": {"application/json": {"schema": schema}}}
    if required:
        body["required"] = True
    return {"requestBody": body}
