"""Kinds of micro-task: their schemas, normalisation and agreement rules. Pure domain, no I/O."""

from task_types.base import TaskType, Verdict
from task_types.errors import (
    DuplicateTaskType,
    InvalidAnswer,
    Problem,
    TaskTypeError,
    UnknownTaskType,
)
from task_types.registry import all_types, get, names, register

__all__ = [
    "DuplicateTaskType",
    "InvalidAnswer",
    "Problem",
    "TaskType",
    "TaskTypeError",
    "UnknownTaskType",
    "Verdict",
    "all_types",
    "get",
    "names",
    "register",
]
