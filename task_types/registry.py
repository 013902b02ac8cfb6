"""Task types by name, all found through entry points: Ruche's own (the built-ins), then
third-party ones.

A package adds a type by declaring, in its own ``pyproject.toml``::

    [project.entry-points."ruche.task_types"]
    transcription = "ngo_tasks.transcription:TASK_TYPE"

where ``TASK_TYPE`` is an instance of a ``TaskType`` subclass whose ``name`` is the entry-point
name. The built-ins are declared the same way in Ruche's own ``pyproject.toml``: a new built-in
is its module and that line. They are registered first, so a plugin can never take a built-in's
name. A plugin that fails to import, is not a task type, or claims a taken name is skipped with
a warning in the log: one broken package must not take the whole service down, and it must
never silently replace a built-in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Protocol

from task_types.base import AnyTaskType, TaskType
from task_types.errors import DuplicateTaskType, UnknownTaskType

__all__ = [
    "BUILTIN_DISTRIBUTION",
    "ENTRY_POINT_GROUP",
    "EntryPointLike",
    "TaskTypeRegistry",
    "all_types",
    "default_registry",
    "get",
    "installed_names",
    "names",
    "register",
]

ENTRY_POINT_GROUP = "ruche.task_types"
#: The distribution whose own entry points are the built-in task types.
BUILTIN_DISTRIBUTION = "ruche"
logger = logging.getLogger(__name__)


class EntryPointLike(Protocol):
    """What the loader needs from an ``importlib.metadata.EntryPoint`` (and test doubles); its
    ``dist`` (the distribution advertising it), when it has one, tells a built-in."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    def load(self) -> object: ...


class TaskTypeRegistry:
    """Name -> task type. Reads are plain dict lookups; writes happen at start-up."""

    def __init__(self) -> None:
        self._types: dict[str, AnyTaskType] = {}
        self._builtin: set[str] = set()

    def register(self, task_type: AnyTaskType, *, builtin: bool = False) -> None:
        """Add a task type. Registering the same object twice is a no-op; another object
        under a taken name raises ``DuplicateTaskType``."""
        if not isinstance(task_type, TaskType):
            raise TypeError(f"expected a TaskType instance, got {type(task_type).__name__}")
        current = self._types.get(task_type.name)
        if current is task_type:
            return
        if current is not None:
            kind = "built-in" if task_type.name in self._builtin else "registered"
            raise DuplicateTaskType(f"{kind} task type {task_type.name!r} is already taken")
        self._types[task_type.name] = task_type
        if builtin:
            self._builtin.add(task_type.name)

    def get(self, name: str) -> AnyTaskType:
        try:
            return self._types[name]
        except KeyError:
            raise UnknownTaskType(name, self.names()) from None

    def names(self) -> list[str]:
        return sorted(self._types)

    def all_types(self) -> list[AnyTaskType]:
        return [self._types[name] for name in self.names()]

    def is_builtin(self, name: str) -> bool:
        return name in self._builtin

    def register_builtins(self, found: Iterable[EntryPointLike] | None = None) -> None:
        """Register Ruche's own task types: the entry points of its own distribution. A built-in
        that fails to load is a bug in Ruche, raised as is. ``found`` replaces the installed
        entry points (for tests)."""
        if found is None:
            found = entry_points(group=ENTRY_POINT_GROUP)
        builtins = [ep for ep in found if _distribution(ep) == BUILTIN_DISTRIBUTION]
        if not builtins:
            logger.warning(
                "no built-in task type found: Ruche's entry points are missing (is it installed? "
                "pip install -e .)"
            )
        for entry_point in builtins:
            task_type = entry_point.load()
            if not isinstance(task_type, TaskType) or task_type.name != entry_point.name:
                raise TypeError(
                    f"built-in task type {entry_point.name}: {entry_point.value} is not a task "
                    "type of that name"
                )
            self.register(task_type, builtin=True)

    def load_entry_points(self, found: Iterable[EntryPointLike] | None = None) -> list[str]:
        """Register the task types advertised under ``ruche.task_types``; return the names
        newly added. ``found`` replaces the installed entry points (for tests)."""
        if found is None:
            found = entry_points(group=ENTRY_POINT_GROUP)
        added: list[str] = []
        for entry_point in found:
            task_type = self._load_one(entry_point)
            if task_type is None or self._types.get(task_type.name) is task_type:
                continue  # broken, or a built-in advertised again by our own pyproject
            try:
                self.register(task_type)
            except DuplicateTaskType as error:
                logger.warning(
                    "task type plugin %s (%s) skipped: %s",
                    entry_point.name,
                    entry_point.value,
                    error,
                )
                continue
            added.append(task_type.name)
        return added

    @staticmethod
    def _load_one(entry_point: EntryPointLike) -> AnyTaskType | None:
        try:
            loaded = entry_point.load()
        except Exception:  # any error inside a third-party import must not stop start-up
            logger.warning(
                "task type plugin %s (%s) failed to load and is skipped",
                entry_point.name,
                entry_point.value,
                exc_info=True,
            )
            return None
        if not isinstance(loaded, TaskType):
            logger.warning(
                "task type plugin %s (%s) skipped: expected a TaskType instance, got %s",
                entry_point.name,
                entry_point.value,
                type(loaded).__name__,
            )
            return None
        if loaded.name != entry_point.name:
            logger.warning(
                "task type plugin %s (%s) skipped: it declares the name %r",
                entry_point.name,
                entry_point.value,
                loaded.name,
            )
            return None
        return loaded


def _distribution(entry_point: EntryPointLike) -> str | None:
    """The (normalised) name of the distribution advertising an entry point, if known."""
    dist = getattr(entry_point, "dist", None)
    name = getattr(dist, "name", None) if dist is not None else None
    return name.lower().replace("_", "-") if isinstance(name, str) else None


_default: TaskTypeRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> TaskTypeRegistry:
    """The process-wide registry: built-ins first, then installed plugins, loaded once."""
    global _default
    with _default_lock:
        if _default is None:
            registry = TaskTypeRegistry()
            registry.register_builtins()
            registry.load_entry_points()
            _default = registry
        return _default


def register(task_type: AnyTaskType) -> None:
    default_registry().register(task_type)


def get(name: str) -> AnyTaskType:
    return default_registry().get(name)


def names() -> list[str]:
    return default_registry().names()


def installed_names() -> list[str]:
    """The names of the task types installed here, read from their entry points without
    importing them (cheap enough for a command's help; a broken plugin is listed too)."""
    return sorted({entry_point.name for entry_point in entry_points(group=ENTRY_POINT_GROUP)})


def all_types() -> list[AnyTaskType]:
    return default_registry().all_types()
