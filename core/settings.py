"""Ruche's configuration: one ``Settings`` object read from ``RUCHE_*`` environment variables.

Read it once at process start with :func:`load_settings` and pass it down; nothing reads the
environment at import time, so tests build a ``Settings(...)`` of their own and nothing leaks
between them.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from limits import RateLimitItem
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.quality.reputation_model import DEFAULT_HALF_LIFE_DAYS
from core.ratelimit import LIMIT_NAMES, parse_rate

__all__ = ["ADMIN_TOKEN_MIN_LENGTH", "ADMIN_TOKEN_PREFIX", "Settings", "load_settings"]

#: Operator tokens are told apart from org and volunteer tokens by this prefix (see API.md).
ADMIN_TOKEN_PREFIX = "rk_admin_"  # noqa: S105 - a prefix, not a secret
ADMIN_TOKEN_MIN_LENGTH = 32

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
_BROKER_SCHEMES = _REDIS_SCHEMES | {"amqp", "amqps"}
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class Settings(BaseSettings):
    """Every setting of a Ruche process; each field ``x`` is read from ``RUCHE_X``."""

    model_config = SettingsConfigDict(
        env_prefix="RUCHE_",
        env_ignore_empty=True,  # `RUCHE_REDIS_URL=` means "unset", not "the empty URL"
        extra="ignore",
        frozen=True,
    )

    env: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses settings that are only safe on a developer's machine.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis holding all of Ruche's state: `redis://`, `unix://`, or `rediss://` for "
        "TLS, with redis-py's `ssl_*` query options (e.g. `?ssl_ca_certs=/etc/ruche/ca.pem`; the "
        "server's certificate and name are checked by default). Unset: `ruche up` starts an "
        "embedded one.",
    )
    redis_cluster: bool = Field(
        default=False,
        description="`redis_url` names a node of a Redis Cluster: every process opens a cluster "
        "client (`RUCHE_BROKER_URL` must then name the broker: a plain Redis or `amqp://`).",
    )
    redis_cluster_nodes: str = Field(
        default="",
        description="With `redis_cluster`: more nodes to start from, `host:port,host:port`.",
    )
    redis_cluster_wait_replicas: int = Field(
        default=1,
        ge=0,
        le=5,
        description="With `redis_cluster`: the replicas that must hold a write before the API "
        "answers it, or a worker or the scheduler goes on (Redis `WAIT`), so that a "
        "master killed just after cannot take an acknowledged claim or answer, or a task's "
        "result, with it. 0: go on without waiting (Redis Cluster's asynchronous replication "
        "alone).",
    )
    redis_cluster_wait_ms: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="With `redis_cluster_wait_replicas`: how long a write waits for its replicas. "
        "A master whose replicas did not answer in time is not waited on for a few seconds "
        "(its writes are answered, and a warning logged) rather than slowing every request.",
    )
    broker_url: str | None = Field(
        default=None,
        description="The dramatiq message broker: a Redis (`redis://`, `rediss://`, `unix://`) or "
        "RabbitMQ (`amqp://`, `amqps://`). Unset: the same as `redis_url`.",
    )
    data_dir: Path = Field(
        default=Path(".ruche"),
        description="Where `ruche up` keeps the embedded Redis's data and append-only file.",
    )
    key_prefix: str = Field(
        default="ruche:",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of every Redis key Ruche writes, so several instances share a Redis.",
    )
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Interface the HTTP API listens on.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="Port the HTTP API listens on.")
    admin_token: SecretStr | None = Field(
        default=None,
        description=(
            f"Operator token (`{ADMIN_TOKEN_PREFIX}…`, at least {ADMIN_TOKEN_MIN_LENGTH} "
            "characters). Unset: no operator access."
        ),
    )
    log_format: Literal["auto", "console", "json"] = Field(
        default="auto",
        description="`auto`: coloured console lines on a terminal, JSON lines otherwise.",
    )
    log_level: LogLevel = Field(default="INFO", description="Lowest level that is logged.")
    worker_processes: int = Field(
        default=1, ge=1, le=64, description="dramatiq worker processes started by `ruche up`."
    )
    worker_threads: int = Field(
        default=4, ge=1, le=256, description="Threads per dramatiq worker process."
    )
    scheduler_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description="Seconds between two scheduler ticks (lease and deadline expiry).",
    )
    relay_claim_idle_seconds: float = Field(
        default=10.0,
        ge=1,
        le=3600,
        description="Seconds an event may sit unacknowledged under a relay before another relay "
        "takes it over (a dead relay's events).",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Allow plain-http and private/loopback webhook targets (development only).",
    )
    metrics_public: bool = Field(
        default=True,
        description="`true`: `GET /metrics` serves its totals to anyone (per project only to "
        "the operator); `false`: only to the operator token (docker-compose.yml's default).",
    )
    cors_origins: str = Field(
        default="",
        description="Origins (comma-separated, e.g. `https://app.example.org`) whose pages may "
        "call the API from a browser (CORS, `Authorization` header, no cookies). Empty: none.",
    )
    signup: Literal["open", "invitation"] = Field(
        default="open",
        description="`open`: anyone may sign up as a volunteer; `invitation`: only with an "
        "invitation code (`POST /v1/invitations`, `ruche invite`).",
    )
    max_live_assignments: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Most assignments one volunteer may hold at once (429 past it).",
    )
    review_lease_seconds: int = Field(
        default=900,
        ge=30,
        le=7200,
        description="How long a reviewer holds a review item before it goes back to the queue.",
    )
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on which `ruche worker` serves its Prometheus metrics (dramatiq's "
        "middleware; on the `host` interface). Unset: not served.",
    )
    event_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a project's events (its audit log) are kept once every consumer has "
        "handled them (core.projects.retention).",
    )
    delivery_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days finished webhook delivery records (and their bodies) are kept.",
    )
    reputation_half_life_days: float = Field(
        default=DEFAULT_HALF_LIFE_DAYS,
        ge=0,
        le=3650,
        description="Days after which a volunteer's reputation evidence (gold, reviews, "
        "agreement) counts half: it fades towards the prior, so reliability follows drift. "
        "0: it never fades. Used by the workers, which write reputations.",
    )
    retention_interval_seconds: float = Field(
        default=3600,
        ge=1,
        le=86_400,
        description="Seconds between two retention sweeps (by whichever scheduler runs first).",
    )
    privacy_batch: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="Records one batch of a deletion or erasure job handles (core.privacy): "
        "each batch is a few short Redis calls, so Redis never blocks on a large deletion.",
    )
    privacy_batches_per_tick: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Most deletion and erasure batches the scheduler runs per tick.",
    )

    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The address people reach Ruche at (e.g. `https://ruche.example.org`): used "
        "in links sent by e-mail, and `https://` makes the session cookie `Secure` and "
        "`__Host-`. Unset: `http://<host>:<port>`.",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="Mail server for sign-in links and invitations: "
        "`smtp://[user:pass@]host:port`, `smtps://…`, or `smtp://…?starttls=1`. Unset: "
        "`ruche up` writes each mail it would send to its log (development); in production, "
        "sign-in by e-mail is then off.",
    )
    mail_from: str = Field(
        default="Ruche <noreply@localhost>",
        min_length=3,
        max_length=200,
        description="The From: of the mails Ruche sends.",
    )
    ngo_upload_max_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        # Under the 8 MiB every request body is held to (api.limits), with room for the form.
        le=8 * 1024 * 1024 - 64 * 1024,
        description="Largest file of tasks the NGO console takes in one upload (bytes); a "
        "larger one is refused with a message (send it with `ruche submit`, or split it).",
    )

    # -- limits and quotas (core.ratelimit, core.accounts.quotas; docs/limits.md) ------------
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated, e.g. `127.0.0.1,10.0.0.0/8`) of "
        "the reverse proxies in front of the API. Only when a request comes from one of them is "
        "its `X-Forwarded-For` read (right to left, skipping trusted hops) for the client's "
        "address, which the per-address limits count. Empty: the peer's address, always.",
    )
    rate_limit_signup: str = Field(
        default="10/minute",
        description="Volunteer sign-ups (`POST /v1/volunteers` and the page `/join`) per "
        "client address, in the "
        "`limits` notation: an amount per period, e.g. `10/minute`, `100/hour`.",
    )
    rate_limit_unauthenticated: str = Field(
        default="30/minute",
        description="Requests refused for want of a valid token (401), and wrong codes on the "
        "page `/login`, per client address; past it, 429 until the window frees (guessing).",
    )
    rate_limit_signin_links: str = Field(
        default="10/minute",
        description="Sign-in links asked for on the page `/login` per client address (each "
        "address mailed is also limited on its own, whoever asks).",
    )
    rate_limit_token: str = Field(
        default="1200/minute",
        description="Requests made with one token (any kind but the operator's), all routes.",
    )
    rate_limit_claims: str = Field(
        default="60/minute", description="Claims (`POST /v1/assignments`) per volunteer."
    )
    rate_limit_releases: str = Field(
        default="30/minute",
        description="Releases (`POST /v1/assignments/{id}/release`) per volunteer.",
    )
    rate_limit_bulk_tasks: str = Field(
        default="60000/minute",
        description="Tasks an organisation may send in bulk per period (each item of a batch "
        "counts); the operator can set another per organisation (`PUT /v1/orgs/{id}/limits`).",
    )
    quota_tasks: int = Field(
        default=1_000_000,
        ge=0,
        description="Tasks an organisation may hold, over all its projects (0: no limit); "
        "per organisation too. Past it, 507 `quota_exceeded`.",
    )
    quota_payload_bytes: int = Field(
        default=1024**3,
        ge=0,
        description="Bytes of task payloads (their JSON) an organisation may hold (0: no "
        "limit); per organisation too. Past it, 507 `quota_exceeded`.",
    )
    bulk_lanes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Bulk submissions one API process writes at once; more wait their turn, so "
        "floods of bulk work leave the process to volunteers' claims (docs/limits.md).",
    )
    bulk_chunk_tasks: int = Field(
        default=100,
        ge=1,
        le=500,
        description="Tasks a bulk submission validates and writes in one step before letting "
        "other requests run: bounds how long bulk work holds the process and Redis.",
    )
    live_assignments_start: int = Field(
        default=1,
        ge=1,
        le=100,
        description="Live assignments a volunteer with no accepted answer may hold; one more per "
        "`accepted_answers_per_extra_assignment` accepted answers, up to `max_live_assignments`.",
    )
    accepted_answers_per_extra_assignment: int = Field(
        default=5,
        ge=1,
        le=10_000,
        description="Accepted answers that earn a volunteer one more live assignment.",
    )
    embedded_redis_maxmemory: str = Field(
        default="1gb",
        pattern=r"^[0-9]+(b|kb|mb|gb)?$",
        description="`maxmemory` of the Redis `ruche up` embeds (`0`: no limit), with the "
        "`noeviction` policy: once full, writes are refused (507 `storage_full`), nothing is "
        "evicted. Set both on a Redis of your own (docs/operations.md).",
    )

    @field_validator(
        "rate_limit_signup",
        "rate_limit_unauthenticated",
        "rate_limit_signin_links",
        "rate_limit_token",
        "rate_limit_claims",
        "rate_limit_releases",
        "rate_limit_bulk_tasks",
    )
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in value.split(","):
            if origin.strip() and not re.fullmatch(r"https?://[^\s/?#]+", origin.strip()):
                raise ValueError(f"{origin.strip()!r} is not an origin (scheme://host[:port])")
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in _REDIS_SCHEMES:
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in _BROKER_SCHEMES:
            raise ValueError("must be a redis://, rediss://, unix://, amqp:// or amqps:// URL")
        return value

    @model_validator(mode="after")
    def _cluster_needs_a_broker(self) -> Self:
        if self.redis_cluster and self.redis_url and not self.broker_url:
            raise ValueError(
                "RUCHE_REDIS_CLUSTER=1 needs RUCHE_BROKER_URL: dramatiq's Redis broker cannot live "
                "on a cluster (give it a plain Redis of its own, or RabbitMQ with amqp://)"
            )
        if self.redis_cluster and urlsplit(self.redis_url or "").scheme == "unix":
            raise ValueError("RUCHE_REDIS_CLUSTER=1 needs a redis:// or rediss:// URL")
        return self

    @field_validator("admin_token")
    @classmethod
    def _strong_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value()
        # The message never echoes the token: validation errors end up in logs.
        if not token.startswith(ADMIN_TOKEN_PREFIX) or len(token) < ADMIN_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"must start with {ADMIN_TOKEN_PREFIX!r} and be at least "
                f"{ADMIN_TOKEN_MIN_LENGTH} characters; make one with: python -c "
                f"\"import secrets; print('{ADMIN_TOKEN_PREFIX}' + secrets.token_urlsafe(32))\""
            )
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from core.mail import parse_smtp_url  # the one reader of this URL

            parse_smtp_url(value.get_secret_value())  # its message never echoes the URL
        return value

    @model_validator(mode="after")
    def _safe_in_production(self) -> Self:
        if self.env != "production":
            return self
        if self.webhook_allow_private:
            raise ValueError(
                "RUCHE_WEBHOOK_ALLOW_PRIVATE lets webhooks reach internal addresses; "
                "it is refused when RUCHE_ENV=production"
            )
        if self.host not in _LOOPBACK_HOSTS and self.admin_token is None:
            raise ValueError(
                f"the API listens on {self.host!r} with no RUCHE_ADMIN_TOKEN; "
                "set one when RUCHE_ENV=production"
            )
        return self

    @property
    def rates(self) -> dict[str, RateLimitItem]:
        """Each limit of core.ratelimit.LIMIT_NAMES, parsed."""
        return {name: parse_rate(getattr(self, f"rate_limit_{name}")) for name in LIMIT_NAMES}

    @property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return parse_networks(self.trusted_proxies)

    def live_assignment_cap(self, accepted_answers: int) -> int:
        """How many live assignments a volunteer with this many accepted answers may hold."""
        earned = max(0, accepted_answers) // self.accepted_answers_per_extra_assignment
        return max(1, min(self.max_live_assignments, self.live_assignments_start + earned))

    @property
    def effective_broker_url(self) -> str | None:
        """The URL dramatiq uses: ``broker_url``, else ``redis_url``."""
        return self.broker_url or self.redis_url


def parse_networks(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` as networks (an address is a network of one)."""
    networks = []
    for part in value.split(","):
        if part.strip():
            try:
                networks.append(ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not an IP address or network") from None
    return tuple(networks)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment; ``overrides`` (e.g. command-line flags) win."""
    return Settings(**overrides)
