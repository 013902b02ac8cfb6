"""The NGO side of Ruche: a typed HTTP client, file readers and writers, webhook checks.

Everything here talks to a Ruche server over HTTP only; nothing touches Redis. The ``ruche
project``, ``ruche submit`` and ``ruche results`` commands (``ruche/ngo_commands.py``) are
built on it.
"""

from producers.bulk import SubmitReport, submit_in_chunks
from producers.client import RucheClient
from producers.errors import RucheConnectionError, RucheError
from producers.models import (
    BulkOutcome,
    Delivery,
    NewProject,
    Project,
    Result,
    ResultsPage,
    Task,
    TaskItem,
    Webhook,
    WebhookSecret,
)
from producers.retry import RetryPolicy
from producers.webhooks import WebhookVerificationError, verify

__all__ = [
    "BulkOutcome",
    "Delivery",
    "NewProject",
    "Project",
    "Result",
    "ResultsPage",
    "RetryPolicy",
    "RucheClient",
    "RucheConnectionError",
    "RucheError",
    "SubmitReport",
    "Task",
    "TaskItem",
    "Webhook",
    "WebhookSecret",
    "WebhookVerificationError",
    "submit_in_chunks",
    "verify",
]
