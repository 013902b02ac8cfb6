"""JSON request bodies read by the route itself, refused as FastAPI refuses a declared body.

The volunteers' hot routes (claim, submit) read their body here instead of declaring it as a
parameter: with the dependency solving that goes with it, FastAPI's body handling and response
validation were a measured tenth of a claim->submit cycle's CPU (``bench/api.py``). The
refusals stay the same: a ``RequestValidationError`` with FastAPI's error types and ``body``
locations, which the app's handler turns into the one 422 shape of API.md. The route documents
its body inline with :func:`request_body` (``openapi_extra``), as the bulk task route does.
"""

from __future__ import annotations

import copy
import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError

__all__ = ["inline_schema", "media_type", "read_json", "read_optional_json", "request_body"]

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
            data = json.loads(raw)
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
