"""The TLS context of a ``rediss://`` URL, built as redis-py builds it, for the multiplexed
connection (:class:`core.redis.mux.MuxRedis`).

Every other Ruche process talks to Redis through redis-py (the API's client, the workers, the
relay, the scheduler, the dramatiq broker), which turns a URL into options with ``parse_url`` and
its SSL connections turn the ``ssl_*`` options into an ``ssl.SSLContext``. The mux opens its own
socket, so it builds its context here from the same options, the same way: a URL means the same
trust to every process (tests/core/test_redis_tls.py compares the two for each option).

The defaults are redis-py's: the server's certificate is required, checked against the system's
CAs or those of ``ssl_ca_certs`` / ``ssl_ca_path`` / ``ssl_ca_data``, and its name against the
URL's host unless ``ssl_check_hostname=false``; ``ssl_cert_reqs=none`` checks nothing (nor the
name). ``ssl_certfile`` and ``ssl_keyfile`` (with ``ssl_password``) are the client's own
certificate, for a server that asks for one. An ``ssl_*`` option redis-py's asyncio client does not
take either (the OCSP ones) is refused, as is a value it would refuse.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["SSL_OPTIONS", "ssl_context"]

#: The ``ssl_*`` options of a URL that shape the context (redis-py's ``SSLConnection`` arguments).
SSL_OPTIONS = frozenset(
    {
        "ssl_cert_reqs",
        "ssl_check_hostname",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_ca_data",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_include_verify_flags",
        "ssl_exclude_verify_flags",
        "ssl_min_version",
        "ssl_ciphers",
    }
)

_CERT_REQS = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


def ssl_context(options: Mapping[str, Any]) -> ssl.SSLContext:
    """The context for ``options``, redis-py's ``parse_url`` of a ``rediss://`` URL.

    Raises ``ValueError`` for an option or value redis-py would not take, and what ``ssl``
    raises for files it cannot load (``OSError``, ``ssl.SSLError``).
    """
    unsupported = sorted(
        name for name in options if name.startswith("ssl_") and name not in SSL_OPTIONS
    )
    if unsupported:
        raise ValueError(f"not supported in a rediss:// URL: {', '.join(unsupported)}")
    verify_mode = _verify_mode(options.get("ssl_cert_reqs", "required"))
    context = ssl.create_default_context()
    # Before verify_mode: CERT_NONE cannot be set while names are checked.
    context.check_hostname = verify_mode != ssl.CERT_NONE and bool(
        options.get("ssl_check_hostname", True)
    )
    context.verify_mode = verify_mode
    for flag in _flags(options.get("ssl_include_verify_flags")):
        context.verify_flags |= flag
    for flag in _flags(options.get("ssl_exclude_verify_flags")):
        context.verify_flags &= ~flag
    certfile, keyfile = options.get("ssl_certfile"), options.get("ssl_keyfile")
    if keyfile and not certfile:
        raise ValueError("ssl_keyfile is given without ssl_certfile")
    if certfile:
        context.load_cert_chain(certfile, keyfile, options.get("ssl_password"))
    ca_certs, ca_path = options.get("ssl_ca_certs"), options.get("ssl_ca_path")
    ca_data = options.get("ssl_ca_data")
    if ca_certs or ca_path or ca_data:
        context.load_verify_locations(cafile=ca_certs, capath=ca_path, cadata=ca_data)
    min_version = options.get("ssl_min_version")
    if min_version is not None:
        context.minimum_version = ssl.TLSVersion(int(min_version))
    ciphers = options.get("ssl_ciphers")
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def _verify_mode(cert_reqs: Any) -> ssl.VerifyMode:
    if cert_reqs not in _CERT_REQS:
        raise ValueError(f"ssl_cert_reqs must be none, optional or required, not {cert_reqs!r}")
    return _CERT_REQS[cert_reqs]


def _flags(flags: Iterable[ssl.VerifyFlags] | None) -> Iterable[ssl.VerifyFlags]:
    # parse_url gives a list of ssl.VerifyFlags ("VERIFY_X509_STRICT,VERIFY_CRL_CHECK_LEAF").
    return flags or ()
