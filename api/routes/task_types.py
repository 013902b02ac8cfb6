"""The registered kinds of micro-task, with the JSON Schema of their payload and answer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

import task_types

__all__ = ["router"]

router = APIRouter(prefix="/v1/task-types", tags=["task types"])


class TaskTypeInfo(BaseModel):
    name: str
    description: str
    contribution_unit: str
    default_threshold: float
    sensitive_fields: list[str]
    payload_schema: dict[str, Any]
    answer_schema: dict[str, Any]


@router.get(
    "",
    response_model=list[TaskTypeInfo],
    summary="Every registered task type (no token needed)",
)
async def list_task_types() -> list[TaskTypeInfo]:
    return [TaskTypeInfo.model_validate(t.describe()) for t in task_types.all_types()]
