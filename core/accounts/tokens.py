"""Bearer tokens: format, checksum and hashing.

A token is ``rk_<kind>_<43 base62 chars: 256 random bits><6 base62 chars: CRC32 checksum>``.
The checksum lets us refuse a mistyped or truncated token without touching Redis (and lets
secret scanners recognise a real one). Only the SHA-256 of a token is stored: tokens carry 256
bits of entropy, so a slow password hash would add cost and no safety.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass
from typing import Literal

__all__ = ["ParsedToken", "TokenKind", "hashes_equal", "new_token", "parse_token", "token_hash"]

TokenKind = Literal["admin", "org", "vol"]
KINDS: tuple[TokenKind, ...] = ("admin", "org", "vol")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LENGTH = 43  # 62**43 > 2**256
_CHECK_LENGTH = 6  # 62**6 > 2**32


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK_LENGTH)


def new_token(kind: TokenKind) -> str:
    body = _base62(secrets.randbits(256), _BODY_LENGTH)
    return f"rk_{kind}_{body}{_checksum(body)}"


@dataclass(frozen=True, slots=True)
class ParsedToken:
    kind: TokenKind
    hash: str


def parse_token(token: str) -> ParsedToken | None:
    """The token's kind and hash, or None when it is not a well-formed Ruche token.

    Admin tokens from the environment are any string of 32+ characters after ``rk_admin_``, so
    they are accepted without a checksum.
    """
    if len(token) > 200 or not token.startswith("rk_"):
        return None
    kind, _, rest = token[3:].partition("_")
    if kind not in KINDS:
        return None
    if kind != "admin":
        # Base62 is exactly the ASCII letters and digits (two C calls, not a loop per char).
        if len(rest) != _BODY_LENGTH + _CHECK_LENGTH or not (rest.isascii() and rest.isalnum()):
            return None
        body, check = rest[:_BODY_LENGTH], rest[_BODY_LENGTH:]
        if not hmac.compare_digest(_checksum(body), check):
            return None
    return ParsedToken(kind, token_hash(token))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hashes_equal(a: str, b: str) -> bool:
    """Constant-time comparison, so timing never tells how much of a hash matched."""
    return hmac.compare_digest(a.encode(), b.encode())
