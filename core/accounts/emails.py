"""People's e-mail addresses: their one form, and the index that keeps one account per address.

An address is kept lower-cased and trimmed (``Ada@Example.ORG `` and ``ada@example.org`` are one
person: providers ignore case in practice, although the local part may in theory differ). The
index ``G:email:<sha256 of the address>`` -> volunteer id is claimed with ``SET NX`` when the
account is made (``Accounts.create_volunteer``), so two joins with one address never make two
accounts, however they interleave.
"""

from __future__ import annotations

import hashlib
import re

from core.text import ONE_LINE

__all__ = ["MAX_EMAIL_LENGTH", "email_digest", "normalise_email"]

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a path
# Something@something.something, with no space, control or bidi-override character anywhere.
_NOT_EMAIL = "@\\s" + ONE_LINE.forbidden
_EMAIL = re.compile(f"[^{_NOT_EMAIL}]+@[^{_NOT_EMAIL}]+\\.[^{_NOT_EMAIL}]+")


def normalise_email(text: str) -> str | None:
    """The address in its one stored form, or None when ``text`` is not an e-mail address."""
    address = text.strip().lower()
    if len(address) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(address):
        return None
    return address


def email_digest(address: str) -> str:
    """The index's key part for an address already normalised."""
    return hashlib.sha256(address.encode()).hexdigest()
