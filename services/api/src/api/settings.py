"""What the API and its server read from the environment."""

import os
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import URL

from shared_models.logs import LogSettings
from shared_models.settings import (
    ApiCredentials,
    ConfigurationError,
    DatabaseSettings,
    EnvSettings,
    PublicHosts,
)

MIB = 1024 * 1024


class ApiDatabaseSettings(DatabaseSettings, ApiCredentials):
    """The database, reached as the API's own row-only role."""

    @model_validator(mode="after")
    def _has_password(self) -> Self:
        self.require_password("API_DB_PASSWORD", self.api_db_password)
        return self

    def url(self, driver: str) -> URL:
        return self.role_url(driver, self.api_db_user, self.api_db_password)


# OWASP's cheapest recommended Argon2id (7 MiB, 5 passes, 1 lane): every recommended
# configuration (RFC 9106's, OWASP's) uses at least this memory times passes.
LEAST_MEMORY_KIB = 7 * 1024
LEAST_MEMORY_PASSES = LEAST_MEMORY_KIB * 5


class PasswordHashing(EnvSettings):
    """What a password's Argon2id hash costs, and how many are computed at once."""

    model_config = SettingsConfigDict(title="How passwords are hashed: the cost of Argon2id")

    argon2_memory_kib: int = Field(
        default=64 * 1024,
        ge=LEAST_MEMORY_KIB,
        le=4 * 1024 * 1024,
        description="KiB of memory one Argon2id hash fills (RFC 9106's second recommended "
        "option: 64 MiB). The cost of a guess to an attacker who has the hashes; a hash's "
        "time grows with this times ARGON2_PASSES, which must be at least "
        f"{LEAST_MEMORY_PASSES:,} (OWASP's cheapest recommended option: 7 MiB, 5 passes).",
    )
    argon2_passes: int = Field(
        default=3, ge=1, le=64, description="Passes over that memory (Argon2's time cost)."
    )
    argon2_lanes: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Lanes of one hash (Argon2's parallelism). A hash stores its own "
        "parameters: a changed cost applies to passwords set from then on, and the ones "
        "stored before still log in.",
    )
    argon2_hashes_at_once: int = Field(
        default=2,
        ge=1,
        description="Argon2id hashes (a sign-up, a login, a password change) each worker "
        "computes at once, in threads, each about 0.15 s of CPU and 64 MiB of memory as "
        "shipped; more wait their turn, so logins never starve reads of CPU or the "
        "container of memory.",
    )

    @model_validator(mode="after")
    def _at_least_the_least_recommended_cost(self) -> Self:
        if self.argon2_memory_kib * self.argon2_passes < LEAST_MEMORY_PASSES:
            raise ValueError(
                "ARGON2_MEMORY_KIB times ARGON2_PASSES must be at least "
                f"{LEAST_MEMORY_PASSES} (OWASP's cheapest recommended Argon2id: 7 MiB, 5 passes)"
            )
        return self


class ApiSettings(PublicHosts, PasswordHashing):
    """The API's connection pool, limits and timeouts."""

    model_config = SettingsConfigDict(title="The API's connection pool, limits and timeouts")

    db_pool_size: int = Field(
        default=10, ge=1, description="Database connections each worker keeps open."
    )
    db_pool_max_overflow: int = Field(
        default=5, ge=0, description="Connections a worker may open beyond DB_POOL_SIZE in a burst."
    )
    db_pool_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request waits for a free connection before it gets a 503.",
    )
    db_statement_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds any API statement may run before the database cancels it "
        "(the request gets a 503): a stuck query cannot hold a worker.",
    )
    max_body_bytes: int = Field(
        default=MIB,
        ge=1,
        description="Request bodies larger than this many bytes get 413, without being read whole.",
    )
    max_body_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a request's body has to arrive whole, from its head: past it, a "
        "408. A client dribbling a body holds an api slot this long at most.",
    )
    access_log: bool = Field(
        default=True,
        description="One log line per request (api.access), with its route, status, "
        "duration, client and request id: the stack's one access line (the proxy logs only "
        "what it answers itself and the api's 5xx). Successful health probes are never "
        "logged.",
    )
    access_log_sample: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="The share of fast successful requests that get an access line, at "
        "random (0.1: one in ten): refusals, errors (status 400 and up) and requests slower "
        "than ACCESS_LOG_SLOW_MS always get one. 1: every request.",
    )
    access_log_slow_ms: float = Field(
        default=500.0,
        gt=0,
        description="Milliseconds from which a request is slow: its access line is always "
        "written, whatever ACCESS_LOG_SAMPLE says.",
    )
    build_revision: str = Field(
        default="unknown",
        description="The git revision the image was built from; set by the image build "
        "(the GIT_REVISION build argument) and shown by the api_build_info metric.",
    )
    api_opentelemetry: bool = Field(
        default=False,
        description="FastAPI's built-in OpenTelemetry spans, metrics and logs; turn it on "
        "together with an OpenTelemetry SDK and exporter. Off, it costs nothing per request.",
    )
    metrics_port: int = Field(
        default=9100,
        ge=1,
        le=65535,
        description="The port /metrics answers on (gunicorn listens on it too); on any other "
        "it is a 404, so the published port never shows it. The development override sets "
        "the API's own port.",
    )
    token_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Minutes an access token from POST /token is accepted. Short: a token "
        "cannot be revoked one by one (a password change or the user's deletion ends them "
        "all), so a stolen one works until it expires.",
    )
    token_keys_file: str = Field(
        default="/run/secrets/token_signing_keys",
        min_length=1,
        description="The file of keys tokens are signed with (HS256), one `<kid> <key>` per "
        "line, newest first: the secrets step makes it in the secrets volume, and `make "
        "rotate-token-key` adds a newer one. Never an environment variable.",
    )
    login_failures_per_account: int = Field(
        default=10,
        ge=1,
        description="Failed logins one client address may make on one username within "
        "LOGIN_FAILURE_WINDOW_SECONDS: past it, that address's logins to that username get "
        "a 429 with Retry-After until the window ends. Counted per address, so a guesser "
        "elsewhere never locks the account's owner out; the proxy counts every login per "
        "address (PROXY_LOGINS_PER_ADDRESS).",
    )
    login_failure_window_seconds: int = Field(
        default=900,
        ge=1,
        le=24 * 3600,
        description="Seconds from an address's first failed login to a username until its "
        "count of failures starts again.",
    )
    writes_per_account: int = Field(
        default=120,
        ge=1,
        le=1_000_000,
        description="Writes (a post created or changed, a user changed) one account may make "
        "within WRITE_WINDOW_SECONDS: past it, a 429 with Retry-After until the window ends. "
        "Two a second for a minute: a person never meets it, a script flooding the database "
        "does at once. Deletes are never counted.",
    )
    write_window_seconds: int = Field(
        default=60,
        ge=1,
        le=24 * 3600,
        description="Seconds from an account's first write of a window until its count of "
        "writes starts again.",
    )
    stored_bytes_per_account: int = Field(
        default=32 * MIB,
        ge=1,
        description="Bytes of post titles and contents (as stored, UTF-8) one account may "
        "keep: a post or change past it gets a 413 that says so; deleting posts makes room. "
        "32 MiB is thousands of long posts; it bounds what a flood of writes from one "
        "account can add to the database.",
    )

    drain_file: str = Field(
        default="/tmp/api-draining",  # noqa: S108 - a tmpfs in the container
        description="While this file exists, /readyz answers 503: the proxy sends the api no "
        "new request, and the ones in flight finish (make release drains the old api "
        "containers so before stopping them).",
    )


def available_cpus() -> int:
    # The CPUs this process may run on (a container's --cpuset-cpus included).
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ServerSettings(EnvSettings):
    """The API's server (gunicorn), read by api.gunicorn_conf before any worker starts."""

    model_config = SettingsConfigDict(
        title="The API's server (gunicorn), read by api.gunicorn_conf before any worker starts"
    )

    web_concurrency: int = Field(
        default_factory=available_cpus,
        ge=1,
        description="Gunicorn worker processes. Each is async, so one per CPU keeps every "
        "CPU busy without context switching. Every hash the workers may run at once "
        "(this times ARGON2_HASHES_AT_ONCE times ARGON2_MEMORY_KIB) must fit in half the "
        "container's memory limit: by default fewer workers start when one per CPU would "
        "not fit (768 MiB as shipped holds 3), and a value set here that does not fit "
        "stops the api.",
        json_schema_extra={"default_doc": "CPUs available, at most what the memory holds"},
    )
    gunicorn_bind: str = Field(
        default="0.0.0.0:8000", description="Address gunicorn listens on inside the container."
    )
    gunicorn_timeout: int = Field(
        default=30, ge=1, description="Seconds a silent worker lives before it is replaced."
    )
    gunicorn_graceful_timeout: int = Field(
        default=20, ge=0, description="Seconds in-flight requests get to finish on SIGTERM."
    )
    gunicorn_keepalive: int = Field(
        default=10,
        ge=0,
        description="Seconds an idle keep-alive connection stays open. Longer than the "
        "proxy's own (5 s), so the proxy closes an idle connection first and never sends "
        "a request down one the api is closing.",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Comma-separated addresses, networks (CIDR) or host names of the proxies "
        "whose X-Forwarded-For and X-Forwarded-Proto the API believes: the client's address "
        "in the access line, and the scheme of the URLs it writes. A name is looked up again "
        "every few seconds (compose sets the proxy's service name). Never a network that "
        "holds a gateway clients come through.",
    )
    metrics_dir: str = Field(
        default="/tmp/api-metrics",  # noqa: S108 - a tmpfs in the container
        description="Directory where the workers share their metrics (prometheus_client's "
        "multiprocess mode); emptied when the server starts. Keep it on a tmpfs.",
    )


# Where the container's memory limit is read: cgroup v2's file, then v1's.
MEMORY_LIMIT_FILES = (
    Path("/sys/fs/cgroup/memory.max"),
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
)
# cgroup v1 says "no limit" with a number near 2**63.
NO_LIMIT_FROM = 2**60


def container_memory_bytes(files: tuple[Path, ...] = MEMORY_LIMIT_FILES) -> int | None:
    """The memory limit of the container this process runs in (compose's ``mem_limit``,
    a pod's ``resources.limits.memory``); None when there is none."""
    for file in files:
        try:
            text = file.read_text().strip()
        except OSError:
            continue
        return int(text) if text.isdigit() and int(text) < NO_LIMIT_FROM else None
    return None


def hashing_memory_bytes(cost: PasswordHashing, workers: int) -> int:
    """Memory that every hash a server may run at once fills (about 64 MiB each as shipped)."""
    return cost.argon2_memory_kib * 1024 * cost.argon2_hashes_at_once * workers


def workers_within_memory(
    server: ServerSettings, cost: PasswordHashing, limit_bytes: int | None
) -> int:
    """How many workers to start: WEB_CONCURRENCY, as long as every hash they may run at
    once fits in half the container's memory (the other half is the processes' own; a
    worker at rest holds about 20 MiB of its own). By default one a CPU, fewer when that
    many would not fit, so a big host does not turn a flood of logins into an OOM kill;
    a WEB_CONCURRENCY set too high stops the server, naming what to change."""
    if limit_bytes is None:
        return server.web_concurrency
    fitting = max(1, limit_bytes // 2 // hashing_memory_bytes(cost, 1))
    if "web_concurrency" not in server.model_fields_set:
        return min(server.web_concurrency, fitting)
    if server.web_concurrency > fitting:
        need = hashing_memory_bytes(cost, server.web_concurrency) // MIB
        raise ConfigurationError(
            f"WEB_CONCURRENCY ({server.web_concurrency}) times ARGON2_HASHES_AT_ONCE "
            f"times ARGON2_MEMORY_KIB needs {need} MiB for the hashes alone, more than half "
            f"the container's {limit_bytes // MIB} MiB: at most {fitting} workers fit; "
            "lower one of them, or give the container more memory"
        )
    return server.web_concurrency


# Everything the API's container reads (the compose and docs tests walk this).
SETTINGS = (ApiDatabaseSettings, ApiSettings, ServerSettings, LogSettings)
