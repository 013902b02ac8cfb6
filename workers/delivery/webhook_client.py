"""One webhook POST, made safely: SSRF-checked, pinned, bounded in time and in bytes read.

:func:`post` resolves the target's host once, refuses it when any address it resolves to is not
a fit target (:mod:`core.delivery.ssrf`), and connects to an address it checked — never resolving
the name again, so DNS cannot answer differently between the check and the connection (rebinding).
Addresses are tried IPv4 first; the next one only when no connection could be opened.
The request still names the host: the ``Host`` header is the URL's, and over TLS the SNI name
and the certificate check are the host name's (httpcore's ``sni_hostname`` extension).

Limits on every attempt:

- time: connect 5 s, each read or write 10 s, and the whole attempt (resolution included)
  15 s, enforced with ``asyncio.timeout`` so a server dripping bytes cannot hold a worker;
- bytes: at most 64 KiB of the response body are read, then the connection is dropped (the
  transport may have buffered one more socket read; response headers are bounded by h11's own
  100 KiB limit). The body is never kept: only the status and ``Retry-After`` matter;
- redirects are never followed (a 3xx is a failed attempt, like any other non-2xx);
- proxies and certificates from the environment are ignored (``trust_env=False``), so no
  ``HTTPS_PROXY`` can route around the pinning.

With ``verify=True`` every attempt shares one certificate-checking TLS context
(:func:`trusted_tls_context`): building one loads the whole CA bundle, about 15 ms of CPU,
which made up most of an attempt's cost on loopback (bench/pipeline.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial

import httpx

from core.delivery.ssrf import Resolver, Target, TargetRefused, check_url

__all__ = ["USER_AGENT", "HttpLimits", "Reply", "post", "trusted_tls_context"]

USER_AGENT = "Ruche-Webhooks/1"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_ERROR_LENGTH = 200
# Name resolution blocks; its threads are our own so a stuck resolver never holds up the event
# loop's shutdown (asyncio.run waits for its default executor).
_RESOLVERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ruche-resolve")


@dataclass(frozen=True, slots=True)
class HttpLimits:
    connect_s: float = 5.0
    io_s: float = 10.0  # each read and each write
    total_s: float = 15.0  # the whole attempt, from resolving the host to the last byte read
    max_read: int = 64 * 1024  # response body bytes read at most
    read_chunk: int = 16 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    """What one attempt came to. ``error`` is short and never holds the response body."""

    status: int | None  # the HTTP status; None when no response came
    error: str | None  # None exactly when the endpoint answered 2xx
    retry_after: str | None = None  # the raw Retry-After header, if any
    bytes_read: int = 0  # response body bytes read
    address: str | None = None  # the (checked) address connected to
    connect_failed: bool = False  # no connection opened: nothing reached the receiver

    @property
    def delivered(self) -> bool:
        return self.error is None


@cache
def trusted_tls_context() -> ssl.SSLContext:
    """The TLS context of ``verify=True``, built once per process: the one httpx would build
    for each client (certifi's CA bundle, environment ignored). An ``SSLContext`` is safe to
    share between threads and event loops; nothing changes it after it is built."""
    return httpx.create_ssl_context(verify=True, trust_env=False)


def _tls(verify: ssl.SSLContext | bool) -> ssl.SSLContext | bool:
    return trusted_tls_context() if verify is True else verify


def _short(error: BaseException) -> str:
    detail = str(error).strip() or type(error).__name__
    return detail[:_ERROR_LENGTH]


def _addresses(target: Target) -> list[IPAddress]:
    """The checked addresses in the order to try them: IPv4 first (IPv6 is often unrouted)."""
    return sorted(target.addresses, key=lambda address: address.version)


def _pinned(url: str, target: Target, address: IPAddress) -> tuple[httpx.URL, str, dict[str, str]]:
    """The URL to connect to (a checked address), the Host header, and TLS extensions."""
    parsed = httpx.URL(url)
    default_port = 443 if parsed.scheme == "https" else 80
    if (parsed.port or default_port) != target.port:
        raise TargetRefused("the URL's port is ambiguous")
    request_url = parsed.copy_with(host=str(address), port=target.port)
    extensions: dict[str, str] = {}
    if parsed.scheme == "https" and target.host != str(address):
        extensions["sni_hostname"] = target.host
    return request_url, parsed.netloc.decode("ascii"), extensions


async def _post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    resolver: Resolver,
    limits: HttpLimits,
    verify: ssl.SSLContext | bool,
) -> Reply:
    loop = asyncio.get_running_loop()
    check = partial(check_url, url, allow_private=allow_private, resolve=resolver)
    try:
        target = await loop.run_in_executor(_RESOLVERS, check)
        _pinned(url, target, target.addresses[0])
    except TargetRefused as refused:
        return Reply(None, f"target refused: {refused}")
    timeout = httpx.Timeout(limits.io_s, connect=limits.connect_s)
    async with httpx.AsyncClient(
        follow_redirects=False, trust_env=False, verify=_tls(verify), timeout=timeout
    ) as client:
        reply = Reply(None, "the host has no address")
        for address in _addresses(target):
            reply = await _post_to(client, url, target, address, body, headers, limits)
            if not reply.connect_failed:
                break  # only a connection that never opened is tried at the next address
        return reply


async def _post_to(
    client: httpx.AsyncClient,
    url: str,
    target: Target,
    address: IPAddress,
    body: bytes,
    headers: dict[str, str],
    limits: HttpLimits,
) -> Reply:
    request_url, host, extensions = _pinned(url, target, address)
    request_headers = {**headers, "host": host, "user-agent": USER_AGENT}
    where = str(address)
    try:
        async with client.stream(
            "POST", request_url, content=body, headers=request_headers, extensions=extensions
        ) as response:
            read = 0
            async for chunk in response.aiter_raw(limits.read_chunk):
                read += len(chunk)
                if read >= limits.max_read:
                    break  # leaving the block drops the connection
            status = response.status_code
            retry_after = response.headers.get("retry-after")
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        detail = f"{type(error).__name__}: {_short(error)}"
        return Reply(None, detail, address=where, connect_failed=True)
    except httpx.TimeoutException as error:
        return Reply(None, f"timed out ({type(error).__name__})", address=where)
    except httpx.HTTPError as error:
        return Reply(None, f"{type(error).__name__}: {_short(error)}", address=where)
    error_text = None
    if not 200 <= status < 300:
        error_text = f"HTTP {status}"
        if 300 <= status < 400:
            error_text += ": redirects are not followed"
    return Reply(status, error_text, retry_after, read, where)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    resolver: Resolver,
    limits: HttpLimits | None = None,
    verify: ssl.SSLContext | bool = True,
) -> Reply:
    """POST ``body`` to ``url`` once (blocking; runs its own event loop)."""
    limits = limits or HttpLimits()

    async def bounded() -> Reply:
        try:
            async with asyncio.timeout(limits.total_s):
                return await _post(
                    url,
                    body,
                    headers,
                    allow_private=allow_private,
                    resolver=resolver,
                    limits=limits,
                    verify=verify,
                )
        except TimeoutError:
            return Reply(None, f"timed out after {limits.total_s:g} s")

    return asyncio.run(bounded())
