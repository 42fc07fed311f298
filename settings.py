"""The one settings object shared by the API, the worker and the CLI.

Every value comes from an environment variable with the ``QT_`` prefix (or a ``.env`` file).
Domain numbers (SLA targets, thresholds, amounts) are not here: they live in the policy file named
by ``QT_POLICY_FILE``.
"""

from __future__ import annotations

import importlib
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent
DEV_SECRET = "dev-only-secret-change-me"
# The interpreter's recursion limit once every library is imported: py_ecc raises it to 100,000,
# deep enough that a C-recursive parser (json.loads of nested arrays) overflows the C stack and the
# process dies. Python's default is 1,000; nothing of ours recurses anywhere near this.
RECURSION_LIMIT = 2000
DEV_API_KEYS = ("dev-agent:agent,dev-supervisor:supervisor,dev-quality:quality,"
                "dev-auditor:auditor,dev-admin:admin,dev-merchant:merchant,dev-supplier:supplier_manager:*,"
                "dev-reviewer:reviewer:reviewer-1")
ENVIRONMENTS = ("development", "test", "staging", "production")
# Only these may run on the public development secret and keys: anywhere else they let anyone forge
# customer tokens and test guesses against customer hashes.
DEV_ENVIRONMENTS = frozenset({"development", "test"})
Environment = Literal["development", "test", "staging", "production"]


SUPPLIER_MANAGER = "supplier_manager"


# Roles whose key may name the person it belongs to ("key:agent:li.wei"): such a key sees only
# that person's points, inbox or review tasks.
PERSON_BOUND = ("agent", "team_head", "reviewer")


class ApiKeyEntry(NamedTuple):
    key: str
    role: str
    # The suppliers a supplier_manager key may see; None: no restriction (every other role, or "*").
    suppliers: frozenset[str] | None
    # The person a person-bound key belongs to (PERSON_BOUND roles); None: a shared desk key.
    person: str | None = None


class Settings(BaseSettings):
    # An empty value means "not set": env files carry `KEY=` lines, and an empty path would become ".".
    model_config = SettingsConfigDict(env_prefix="QT_", env_file=".env", extra="ignore", env_ignore_empty=True)

    environment: Environment = Field("development", description=" | ".join(ENVIRONMENTS))
    policy_file: Path = ROOT / "config" / "policy.toml"
    var_dir: Path = ROOT / "var"

    # Temporal
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "qualitrail-tickets"
    # A cluster with mutual TLS: client certificate and key (PEM files), optional server CA.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    temporal_tls_server_name: str = ""
    # Temporal Cloud with an API key (implies TLS).
    temporal_api_key: SecretStr = SecretStr("")
    # AES-256-GCM keys for Temporal payloads, "id:<base64 of 32 bytes>,...": the first encrypts, all decrypt.
    # Empty = payloads unencrypted (development). See docs/decisions/005-payload-encryption.md.
    payload_keys: SecretStr = SecretStr("")
    # Set the ticket search attributes (workflows/names.py) at start, so staff can filter tickets in
    # the Temporal UI. The namespace must have them registered (make run and compose do); off for one
    # that has not, or every ticket start would be refused.
    temporal_search_attributes: bool = True
    # The Temporal UI's origin: the only browser origin allowed to call the codec endpoint (/codec/*).
    temporal_ui_origin: str = "http://127.0.0.1:8233"

    # Read model: SQLite file by default, PostgreSQL through DATABASE_URL.
    database_url: str = ""
    # Put into database_url URL-escaped (see db_url), so a password may hold any character.
    database_password: SecretStr = SecretStr("")

    # API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = "http://127.0.0.1:8000"
    # "key:role,key:role"; roles: agent, supervisor, quality, auditor, admin, merchant, supplier_manager.
    # A supplier manager's key names its suppliers: "key:supplier_manager:sup-a|sup-b" (decision 010).
    api_keys: SecretStr = SecretStr(DEV_API_KEYS)
    # Derives per-ticket customer tokens and salts customer references; rotate with care.
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    max_body_bytes: int = 64 * 1024
    # JSON bodies nested deeper are refused before parsing (a certificate or a codec body needs 4).
    max_json_depth: int = Field(32, ge=4, le=200)
    # Longest lists an uploaded certificate may hold (POST /verify; 422 naming the list). A ticket
    # has at most one voucher per breach kind; hundreds of steps is a very long ticket.
    certificate_max_milestones: int = Field(2000, ge=1, le=100_000)
    certificate_max_batches: int = Field(2000, ge=1, le=100_000)
    certificate_max_vouchers: int = Field(16, ge=1, le=1000)
    # Public routes (/verify*, the certificate routes): requests per client address, in the
    # notation of the `limits` library ("60/minute;1000/hour"); empty turns the limit off.
    public_rate_limit: str = "60/minute"
    # Public feedback (POST /feedback, the feedback page's form): submissions per client address and
    # per customer (contact), in the same notation; over either the answer is 429 with Retry-After.
    feedback_rate_limit: str = "10/minute;100/day"
    feedback_customer_rate_limit: str = "5/hour"
    # Seals the service record's texts in the read model (AES-256-GCM), "id:<base64 of 32 bytes>,...":
    # the first seals, all open. Empty = one key derived from secret_key.
    record_keys: SecretStr = SecretStr("")

    # The quality console (console/, decision 016): people sign in with a password (argon2id).
    # A session lasts this long; this many failed sign-ins in a row lock the account for the
    # lock-out; an invitation link is valid this long.
    console_session_hours: float = Field(8.0, gt=0, le=24 * 30)
    console_login_attempts: int = Field(5, ge=1, le=100)
    console_lockout_minutes: float = Field(15.0, gt=0, le=24 * 60)
    console_invite_hours: float = Field(72.0, gt=0, le=24 * 30)
    # Seconds between the SLA board's live updates (pushed to open boards, console/live.py).
    console_board_refresh_seconds: int = Field(10, ge=1, le=600)
    # A board's update stream ends after this long (the browser opens a new one, checking the
    # session again); at most this many differently filtered boards are followed at once per API
    # process, and a person has at most this many boards open (a browser's connections per site).
    console_board_stream_seconds: int = Field(120, ge=5, le=3600)
    # On stop, the API waits this long for open answers (live boards' streams) and then ends them
    # (uvicorn's --timeout-graceful-shutdown; Dockerfile and docker-compose.yml pass the same 5).
    api_shutdown_grace_seconds: int = Field(5, ge=1, le=600)
    console_live_boards: int = Field(64, ge=1, le=10_000)
    console_live_boards_per_person: int = Field(6, ge=1, le=100)
    # Finding rows on the spot-check review form (a review with more findings is sent through the API).
    console_findings_rows: int = Field(3, ge=1, le=50)
    # Days of actual ticket volume the staffing chart draws before the forecast ahead.
    console_staffing_actual_days: int = Field(28, ge=1, le=366)
    # argon2id cost (RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes). A hash
    # made with other parameters is re-made with these at the person's next sign-in.
    console_password_memory_kib: int = Field(65536, ge=8192, le=4 * 1024 * 1024)
    console_password_time_cost: int = Field(3, ge=1, le=20)

    # Issue a voucher through the compensation contract when a ticket breaches its SLA.
    compensation_enabled: bool = True

    # Observability. Metrics endpoints bind 127.0.0.1; 0 turns one off.
    worker_metrics_port: int = Field(0, ge=0, le=65535)
    temporal_metrics_port: int = Field(0, ge=0, le=65535)
    log_format: str = Field("json", pattern="^(json|text)$")
    log_level: str = "INFO"

    # The digital twin's processes, each playing shards on time-skipping servers of its own (0: one
    # per CPU core and one more, to work while another waits on its server; docs/benchmarks.md).
    twin_processes: int = Field(0, ge=0, le=64)
    # Scenarios per time-skipping server: a server's cost per clock skip grows with the workflows
    # it has held, so the twin plays many small shards, each on a fresh server (docs/benchmarks.md).
    twin_shard_scenarios: int = Field(25, ge=1, le=100_000)

    # Notifications
    notify_webhook_url: str = ""
    # Alerts by e-mail to the people in the directory (PUT /people/{id}); empty host = no e-mail.
    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "qualitrail@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(10.0, gt=0, le=120)
    # The inbound e-mail receiver (feedback by mail, `qualitrail mail`); message size is a policy number.
    mail_host: str = "127.0.0.1"
    mail_port: int = Field(8025, ge=1, le=65535)

    # Chain
    rpc_url: str = "http://127.0.0.1:8545"
    anvil_port: int = 8545
    chain_confirmations: int = 0
    # Well-known Anvil dev keys are accepted only on chain id 31337 (checked at start).
    deployer_key: SecretStr = SecretStr("")
    anchor_key: SecretStr = SecretStr("")
    issuer_key: SecretStr = SecretStr("")
    redeemer_key: SecretStr = SecretStr("")
    signer_key: SecretStr = SecretStr("")
    # 4096 leaves keep an anchor under 25 gas per milestone; the time bound cuts batches under light load.
    anchor_batch_size: int = Field(4096, ge=1, le=4096)
    anchor_batch_seconds: float = Field(2.0, gt=0, le=60)
    # Iterations between checks that anchors and vouchers are still on chain (a reorg, or a node
    # restored from an older state): about 10 s under load, 50 s idle. Applies when anchoring starts.
    anchor_reconcile_every: int = Field(5, ge=1, le=1000)

    @field_validator("environment", mode="before")
    @classmethod
    def _normalise_environment(cls, value: Any) -> Any:
        # "Production" or " staging " mean what they say; an unknown name ("prod") is refused by the
        # Literal rather than silently treated as development.
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def is_development(self) -> bool:
        """True only for an explicit development or test environment."""
        return self.environment in DEV_ENVIRONMENTS

    @model_validator(mode="after")
    def _no_dev_secret_outside_development(self) -> Settings:
        if not self.is_development and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError(f"QT_SECRET_KEY must be set in {self.environment}: the dev secret is public")
        if not self.is_development and self.api_keys.get_secret_value() == DEV_API_KEYS:
            raise ValueError(f"QT_API_KEYS must be set in {self.environment}: the dev keys are public")
        if self.environment == "production" and not self.payload_keys.get_secret_value():
            raise ValueError("QT_PAYLOAD_KEYS must be set in production: ticket text would reach Temporal in clear")
        return self

    @property
    def db_url(self) -> str:
        if not self.database_url:
            return f"sqlite:///{self.var_dir / 'qualitrail.db'}"
        password = self.database_password.get_secret_value()
        if not password:
            return self.database_url
        return make_url(self.database_url).set(password=password).render_as_string(hide_password=False)

    def api_key_entries(self) -> list[ApiKeyEntry]:
        """Every configured key: ``key:role``, ``key:supplier_manager:sup-a|sup-b`` or ``key:role:person``.

        A supplier manager sees only the suppliers its key names (``*``: all, for development); one
        without a list sees none (decision 010). An agent, team head or reviewer key may name its
        person, and then sees only that person's points, inbox and review tasks.
        """
        out: list[ApiKeyEntry] = []
        for entry in (e.strip() for e in self.api_keys.get_secret_value().split(",")):
            if not entry:
                continue
            key, _, rest = entry.partition(":")
            role, _, scope = rest.partition(":")
            suppliers: frozenset[str] | None = None
            if role == SUPPLIER_MANAGER and scope != "*":
                suppliers = frozenset(s.strip() for s in scope.split("|") if s.strip())
            person = (scope.strip() or None) if role in PERSON_BOUND else None
            out.append(ApiKeyEntry(key, role, suppliers, person))
        return out

    def certificate_max_items(self) -> dict[str, int]:
        return {"milestones": self.certificate_max_milestones, "batches": self.certificate_max_batches,
                "vouchers": self.certificate_max_vouchers}

    def api_key_roles(self) -> dict[str, str]:
        return {entry.key: entry.role for entry in self.api_key_entries()}


@lru_cache
def get_settings() -> Settings:
    return Settings()


def bound_recursion_limit() -> int:
    """Put the recursion limit back to :data:`RECURSION_LIMIT`; call once the entry point's imports are done.

    py_ecc raises the limit when it is first imported, so it is imported here first: a later lazy
    import of the eth libraries then finds it loaded and cannot raise the limit again.

    Returns:
        The limit now in force.
    """
    try:
        importlib.import_module("py_ecc")
    except ImportError:  # not installed: nothing can raise the limit behind our back
        pass
    sys.setrecursionlimit(RECURSION_LIMIT)
    return sys.getrecursionlimit()
