"""Redis error replies as redis-py's exception instances, for the multiplexed connection
(:class:`core.redis.mux.MuxRedis`): ``NOSCRIPT ...`` becomes ``NoScriptError``, ``LOADING ...``
``BusyLoadingError``, an unknown code ``ResponseError``, with the code stripped from the message.

Why a table of our own: redis-py keeps its mapping in a private module (``redis._parsers.base``,
``BaseParser.parse_error``) whose content changed at each major version (the codes mapped, their
classes, the constructors' arguments) and which may move at any release; importing it tied the
API's start-up to redis-py's internals. This is that mapping as of redis-py 8.2, on the public
``redis.exceptions`` classes only. tests/core/test_redis_reply_errors.py checks, code by code,
that redis-py makes the same class and message of the same reply, so a redis-py release that maps
differently fails a test, not the API.

Left out on purpose: redis-py 8's ``status_code`` attribute (nothing in Ruche reads it, and its
constructor argument is version-specific); and a reply a class cannot be built from (a malformed
``MOVED``) becomes a ``ResponseError`` rather than an exception inside the reply parser.
"""

from __future__ import annotations

from redis.exceptions import (
    AskError,
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    BusyLoadingError,
    ClusterCrossSlotError,
    ClusterDownError,
    ClusterError,
    ExecAbortError,
    ExternalAuthProviderError,
    MasterDownError,
    MaxClientsReachedError,
    ModuleError,
    MovedError,
    NoPermissionError,
    NoScriptError,
    NoSuchFieldsetError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "ERROR_CLASSES",
    "ERR_MESSAGE_CLASSES",
    "out_of_memory",
    "reply_error",
    "storage_unavailable",
]

#: "ERR" replies with a class of their own, by their whole message (after "ERR ").
ERR_MESSAGE_CLASSES: dict[str, type[RedisError]] = {
    "max number of clients reached": MaxClientsReachedError,
    "invalid password": AuthenticationError,
    "wrong number of arguments for 'auth' command": AuthenticationWrongNumberOfArgsError,
    "wrong number of arguments for 'AUTH' command": AuthenticationWrongNumberOfArgsError,
    "Error loading the extension. Please check the server logs.": ModuleError,
    "Error unloading module: the module exports one or more module-side data types, "
    "can't unload": ModuleError,
    "Error unloading module: no such module with that name": ModuleError,
    "Error unloading module: operation not possible.": ModuleError,
    # AUTH sent to a server without a password (Redis 6 and later, then earlier).
    "AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?": AuthenticationError,
    "Client sent AUTH, but no password is set": AuthenticationError,
    "problem with LDAP service": ExternalAuthProviderError,
    "no such fieldset": NoSuchFieldsetError,
}

#: The error codes (the reply's first word) with a class of their own.
ERROR_CLASSES: dict[str, type[RedisError]] = {
    "OOM": OutOfMemoryError,
    "WRONGPASS": AuthenticationError,
    "EXECABORT": ExecAbortError,
    "LOADING": BusyLoadingError,
    "NOSCRIPT": NoScriptError,
    "READONLY": ReadOnlyError,
    "NOAUTH": AuthenticationError,
    "NOPERM": NoPermissionError,
    "ASK": AskError,
    "TRYAGAIN": TryAgainError,
    "MOVED": MovedError,
    "CLUSTERDOWN": ClusterDownError,
    "CROSSSLOT": ClusterCrossSlotError,
    "MASTERDOWN": MasterDownError,
}


def reply_error(reply: str) -> RedisError:
    """The exception for an error reply (``hiredis.Reader``'s ``replyError``); never raises."""
    code, _, message = reply.partition(" ")
    if code == "ERR":
        error_class = ERR_MESSAGE_CLASSES.get(message, ResponseError)
    elif code in ERROR_CLASSES:
        error_class = ERROR_CLASSES[code]
    else:
        return ResponseError(reply)
    try:
        return error_class(message)
    except Exception:  # e.g. MovedError parses "slot host:port" out of its message
        return ResponseError(message)


def out_of_memory(error: BaseException) -> bool:
    """Redis refused a write because it is at its ``maxmemory`` (``noeviction``): a command's
    own OOM reply (``OutOfMemoryError``, its "OOM" code stripped) or one raised inside a script
    (a ``ResponseError`` quoting it)."""
    return isinstance(error, OutOfMemoryError) or (
        isinstance(error, ResponseError) and "OOM command not allowed" in str(error)
    )


#: What a Redis Cluster answers while it fails over (a master gone, its slots moving to a
#: replica): the request may be tried again in a moment, like a Redis that is down.
_FAILING_OVER = (
    ClusterDownError,  # and MasterDownError
    TryAgainError,
    AskError,  # and MovedError: redirections redis-py gave up following
    ReadOnlyError,  # a write that reached a master just demoted to replica
    ClusterError,
    RedisClusterException,  # no node reachable, a slot not covered
)


def storage_unavailable(error: BaseException) -> bool:
    """Redis can't serve the request now and may in a moment: unreachable, timed out, or a
    cluster failing over. The API answers 503 with ``Retry-After``."""
    return isinstance(error, (RedisConnectionError, RedisTimeoutError, *_FAILING_OVER))
