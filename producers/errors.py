"""What the client raises: one error type carrying the API's error shape.

Ruche answers every refusal as ``{"error": {"code", "message", "details"}}`` with a fitting
status (``shared/API.md``); :class:`RucheError` carries exactly that, plus the status, so a
caller can branch on ``code`` (stable) rather than on message text::

    RucheError                 an HTTP answer in the error shape (or one that is not JSON)
    └── RucheConnectionError   no answer at all: connection refused, reset, timed out
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["RucheConnectionError", "RucheError"]


class RucheError(Exception):
    """The API refused a request (after any retries the client was allowed to make)."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        details: list[Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if status is None else f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details: list[Any] = list(details or [])

    @classmethod
    def from_response(cls, status: int, body: bytes, reason: str = "") -> RucheError:
        """The error a response stands for; bodies not in the API's shape (a proxy's HTML
        page, say) become code ``http_<status>`` with the reason phrase as message."""
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        error = document.get("error") if isinstance(document, dict) else None
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            details = error.get("details")
            return cls(
                status,
                error["code"],
                str(error.get("message", "")),
                details if isinstance(details, list) else [],
            )
        return cls(status, f"http_{status}", reason or "unexpected answer")

    def describe(self) -> str:
        """One line per detail under the message, for a terminal."""
        lines = [f"{self.code}: {self.message}"]
        for detail in self.details[:20]:
            if isinstance(detail, dict) and "msg" in detail:
                where = ".".join(str(part) for part in detail.get("loc", []))
                lines.append(f"  {where}: {detail['msg']}" if where else f"  {detail['msg']}")
            else:
                lines.append(f"  {detail}")
        return "\n".join(lines)


class RucheConnectionError(RucheError):
    """The server could not be reached, or stopped answering, after every retry."""

    def __init__(self, message: str) -> None:
        super().__init__(None, "connection_error", message)
