"""The compose stack's first `docker compose up`, as far as it can be shown without a Docker engine.

docker-compose.yml is resolved with .env.example the way Compose resolves it (tests/deploy/compose_env.py),
the operator's first-run steps are replayed (set each secret Compose says is missing), and then:
each app container's settings load as that container would load them; every file a service's command
or its image's embedded config template needs is in the image or mounted; and the one-shot jobs run
(with fake Temporal tools) and keep retrying until their dependency answers.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import os
import posixpath
import re
import secrets
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url
from temporalio.client import Client

from settings import Settings
from temporal.client import connect_temporal
from tests.deploy.compose_env import MissingRequired, Project, parse_env_file, resolve

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
REQUIRED_SECRETS = {"POSTGRES_PASSWORD", "QT_SECRET_KEY", "QT_API_KEYS", "QT_PAYLOAD_KEYS"}
APP_SERVICES = ["api", "worker", "contracts", "mail"]

# What the third-party images ship, from their Dockerfiles (temporalio/temporal v1.31.2
# docker/targets/*.Dockerfile: Alpine, admin-tools copies the SQL schema to /etc/temporal/schema,
# the server image has WORKDIR /etc/temporal and no config or dynamic-config file).
IMAGE_SHIPS = {
    "temporalio/admin-tools": ("/bin/sh", "/etc/temporal/schema/"),
    "temporalio/server": ("/etc/temporal/entrypoint.sh",),
}
EVERY_IMAGE = ("/dev/null",)
SERVER_WORKDIR = "/etc/temporal"
# temporalio/temporal v1.31.2 common/config/config_template_embedded.yaml, dynamicConfigClient.filepath.
SERVER_DYNAMIC_CONFIG_DEFAULT = "/etc/temporal/config/dynamicconfig/docker.yaml"

# Tags confirmed to be published (see docs/deploying.md for how). Changing a tag means confirming
# the new one the same way and recording it here.
CONFIRMED_IMAGES = {
    "postgres:16.15-bookworm",
    "temporalio/admin-tools:1.31.2",
    "temporalio/server:1.31.2",
    "temporalio/ui:2.49.1",
    "ghcr.io/foundry-rs/foundry:v1.7.1",
}


def new_secret(name: str) -> str:
    """A value generated the way docs/deploying.md and .env.example say."""
    if name == "QT_PAYLOAD_KEYS":
        return "k1:" + base64.b64encode(os.urandom(32)).decode()
    if name == "QT_API_KEYS":
        return f"{secrets.token_urlsafe(24)}:admin,{secrets.token_urlsafe(24)}:quality"
    return secrets.token_urlsafe(32)


def missing_secrets(text: str) -> list[str]:
    """What `docker compose up` names, one at a time, until the .env text resolves."""
    named: list[str] = []
    for _ in range(20):
        try:
            resolve(ROOT, text)
            return named
        except MissingRequired as exc:
            named.append(exc.name)
            text += f"\n{exc.name}={new_secret(exc.name)}\n"
    raise AssertionError(f"compose keeps asking: {named}")


def first_run_env(**overrides: str) -> str:
    """.env.example after the first-run checklist: each secret Compose names gets a generated value."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    for name in missing_secrets(text):
        text += f"\n{name}={overrides.pop(name, None) or new_secret(name)}\n"
    return text + "".join(f"\n{name}={value}\n" for name, value in overrides.items())


def load_settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings as the container's process builds them: from its environment only (the image has
    no .env file: .dockerignore keeps it out)."""
    for name in list(os.environ):
        if name.upper().startswith("QT_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def fake_connect(calls: list[dict[str, Any]], *, fail: bool = False) -> Any:
    async def connect(target_host: str, **kwargs: Any) -> Any:
        calls.append({"target_host": target_host, **kwargs})
        if fail:
            raise RuntimeError("connection refused")
        return object()

    return staticmethod(connect)


# --- .env.example and the secrets ------------------------------------------------------------------


def test_env_example_lines_work_as_they_are() -> None:
    values = parse_env_file(ENV_EXAMPLE.read_text(encoding="utf-8"))
    # Placeholders that "work" would start production with a guessable secret.
    assert not [name for name, value in values.items() if "change-me" in value.lower()]
    assert not REQUIRED_SECRETS & set(values), "secrets are commented out, never given a sample value"


def test_unedited_env_example_stops_compose_naming_each_missing_secret() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    with pytest.raises(MissingRequired) as first:
        resolve(ROOT, text)
    assert "docs/deploying.md" in first.value.message
    assert set(missing_secrets(text)) == REQUIRED_SECRETS


@pytest.mark.parametrize("service", APP_SERVICES)
def test_settings_load_in_each_app_container(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    project = resolve(ROOT, first_run_env())
    env = project.container_env(service)
    settings = load_settings(env, monkeypatch)  # production settings refuse to load without secrets
    assert settings.environment == "production"
    assert settings.payload_keys.get_secret_value() == project.dotenv["QT_PAYLOAD_KEYS"]
    assert settings.secret_key.get_secret_value() == project.dotenv["QT_SECRET_KEY"]
    assert settings.var_dir == Path("/data/var")
    url = make_url(settings.db_url)
    assert (url.host, url.database, url.password) == ("postgresql", "qualitrail", project.dotenv["POSTGRES_PASSWORD"])
    if service == "contracts":
        assert settings.rpc_url == "http://anvil:8545"
        return
    if service == "mail":  # listens where the compose file publishes it
        published = project.services["mail"]["ports"][0]
        assert (settings.mail_host, str(settings.mail_port)) == ("0.0.0.0", published.rsplit(":", 1)[1])
        assert published == f"25:{settings.mail_port}"
    # The API, the worker and the mail receiver connect to Temporal first: TLS files and payload keys are read there.
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(Client, "connect", fake_connect(calls))
    asyncio.run(connect_temporal(settings, attempts=1))
    assert calls[0]["target_host"] == "temporal:7233"
    assert calls[0]["tls"] is False  # the local server speaks plain gRPC on the compose network
    assert calls[0]["data_converter"].payload_codec is not None


@pytest.mark.parametrize("service", ["api", "worker"])
def test_empty_tls_lines_mean_no_tls(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The lines .env.example used to carry: env_file turns them into empty strings, not unset names.
    project = resolve(ROOT, first_run_env(QT_TEMPORAL_TLS_CERT="", QT_TEMPORAL_TLS_KEY="", QT_TEMPORAL_TLS_CA=""))
    env = project.container_env(service)
    assert env["QT_TEMPORAL_TLS_CERT"] == ""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(Client, "connect", fake_connect(calls))
    asyncio.run(connect_temporal(load_settings(env, monkeypatch), attempts=30))
    assert calls[0]["tls"] is False


def test_database_password_reaches_the_app_intact(monkeypatch: pytest.MonkeyPatch) -> None:
    # Characters that mean something in a URL; `$` is excluded because Compose interpolates it in .env.
    password = "p@ss:w/rd?#%+&x"
    project = resolve(ROOT, first_run_env(POSTGRES_PASSWORD=password))
    assert project.services["postgresql"]["environment"]["POSTGRES_PASSWORD"] == password
    settings = load_settings(project.container_env("api"), monkeypatch)
    url = make_url(settings.db_url)
    assert (url.username, url.password, url.host, url.port) == ("qualitrail", password, "postgresql", 5432)


def test_an_empty_env_value_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # env files carry `KEY=` lines; before, an empty TLS path became Path(".") and crashed the start.
    defaults = load_settings({}, monkeypatch)
    empty = load_settings({f"QT_{name.upper()}": "" for name in Settings.model_fields}, monkeypatch)
    assert empty == defaults


def test_unreadable_tls_file_fails_clearly_and_is_not_retried(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(Client, "connect", fake_connect(calls, fail=True))
    settings = Settings(_env_file=None, temporal_tls_cert=tmp_path, temporal_tls_key=tmp_path / "client.key")
    with pytest.raises(ValueError, match=r"QT_TEMPORAL_TLS_CERT=.* cannot be read"):
        asyncio.run(connect_temporal(settings, attempts=30))
    assert calls == []  # a configuration error is not a server that is still starting


# --- files the services need ------------------------------------------------------------------------


def _mounts(svc: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each volume; a source starting with `.` is a bind mount from the repo."""
    out = []
    for volume in svc.get("volumes", []):
        source, target, *_ = volume.split(":")
        out.append((source, target))
    return out


def _in_container(svc: dict[str, Any], path: str) -> Path | str | None:
    """Where a container path comes from: a repo path (bind mount), the volume's name, or None."""
    for source, target in _mounts(svc):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            if source.startswith("."):
                return ROOT / source / posixpath.relpath(path, target)
            return source
    return None


ABS_PATH = re.compile(r"(?<![\w.$/-])/[\w.-]+(?:/[\w.-]+)*/?")


def _needed_paths(svc: dict[str, Any]) -> list[str]:
    words = [*(svc.get("entrypoint") or []), *(svc.get("command") or [])]
    paths = [p for w in words for p in ABS_PATH.findall(w)]
    if svc["image"].startswith("temporalio/server:"):
        # The image runs `temporal-server start` with its embedded template, which opens this file.
        dynamic = svc.get("environment", {}).get("DYNAMIC_CONFIG_FILE_PATH", SERVER_DYNAMIC_CONFIG_DEFAULT)
        paths.append(posixpath.join(SERVER_WORKDIR, dynamic))
    return paths


@pytest.mark.parametrize("service", ["temporal-schema", "temporal", "temporal-namespace", "temporal-ui",
                                     "anvil-volume", "anvil", "postgresql"])
def test_every_file_a_service_needs_is_in_its_image_or_mounted(service: str) -> None:
    svc = resolve(ROOT, first_run_env()).services[service]
    image = svc["image"].rsplit(":", 1)[0]
    todo = _needed_paths(svc)
    seen = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        source = _in_container(svc, path)
        if isinstance(source, Path):
            assert source.is_file(), f"{service}: {path} is mounted from {source}, which does not exist"
            if source.suffix == ".sh":  # a mounted script: what it names must be there too
                script = source.read_text(encoding="utf-8").replace('$(dirname "$0")', posixpath.dirname(path))
                todo += ABS_PATH.findall(script)
            if source.suffix == ".yaml":
                assert isinstance(yaml.safe_load(source.read_text(encoding="utf-8")), dict), source
        elif source is None:
            shipped = (*EVERY_IMAGE, *IMAGE_SHIPS.get(image, ()))
            assert any(path == p.rstrip("/") or path.startswith(p) for p in shipped if p), \
                f"{service}: {path} is neither mounted nor shipped by {image}"


def test_mounted_repo_files_are_read_only_and_state_is_in_named_volumes() -> None:
    services = resolve(ROOT, first_run_env()).services
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            if volume.startswith("."):
                assert volume.endswith(":ro"), (name, volume)
                assert volume.startswith("./deploy/"), (name, volume)


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_commands_name_code_that_exists(service: str) -> None:
    argv = resolve(ROOT, first_run_env()).services[service]["command"]
    assert argv[0] == "python"
    if argv[1] == "-m":
        target = argv[2] if argv[2] != "uvicorn" else argv[3].partition(":")[0]
        assert importlib.util.find_spec(target) is not None, argv
        if target == "cli.main":  # the subcommand is one the command line has
            from cli.main import app

            commands = getattr(typer.main.get_command(app), "commands", {})
            assert argv[3] in commands, (argv, sorted(commands))
    else:
        assert (ROOT / argv[1]).is_file(), argv


def _health_check(service: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs the service's CMD health check here, with its container's environment (plus ``env``)."""
    project = resolve(ROOT, first_run_env())
    test = project.services[service]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "python", test
    run_env = {**project.container_env(service), "PATH": os.environ["PATH"], **env}
    return subprocess.run([sys.executable, *test[2:]], env=run_env, capture_output=True, text=True, timeout=30)


class _Accepting:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def test_mail_health_check_passes_only_while_an_smtp_server_answers() -> None:
    port = _free_port()
    down = _health_check("mail", QT_MAIL_PORT=str(port))
    assert down.returncode != 0 and "ConnectionRefusedError" in down.stderr
    controller = Controller(_Accepting(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert _health_check("mail", QT_MAIL_PORT=str(port)).returncode == 0
    finally:
        controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- one-shot jobs wait for their dependency ---------------------------------------------------------


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\necho \"$*\" >> \"$FAKE_LOG\"\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run_job(service: str, tmp_path: Path, fakes: dict[str, str], **env: str) -> tuple[int, str, list[str]]:
    project: Project = resolve(ROOT, first_run_env())
    svc = project.services[service]
    argv = [*(svc.get("entrypoint") or []), *(svc.get("command") or [])]
    argv = [str(host) if isinstance(host := _in_container(svc, a), Path) else a for a in argv]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in fakes.items():
        _fake(bin_dir, name, body)
    log = tmp_path / "calls.log"
    log.touch()
    run_env = {**project.container_env(service), "PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_LOG": str(log),
               "FAKE_STATE": str(tmp_path), "RETRY_SECONDS": "0", **env}
    done = subprocess.run(argv, env=run_env, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr, log.read_text(encoding="utf-8").splitlines()


# Answers like a server that comes up after three refused attempts.
LATE_HEALTH = """case "$*" in
  "operator cluster health"*) [ "$(grep -c '^operator cluster health' "$FAKE_LOG")" -gt 3 ] ;;
  "operator namespace describe"*) [ -f "$FAKE_STATE/namespace" ] ;;
  "operator namespace create"*) touch "$FAKE_STATE/namespace" ;;
esac
"""
LATE_POSTGRES = """case "$*" in
  *" create") [ "$(grep -c ' create$' "$FAKE_LOG")" -gt 2 ] ;;
esac
"""


def test_namespace_job_retries_until_the_cluster_answers(tmp_path: Path) -> None:
    code, output, calls = _run_job("temporal-namespace", tmp_path, {"temporal": LATE_HEALTH})
    assert code == 0, output
    assert [c for c in calls if c.startswith("operator cluster health")] == ["operator cluster health"] * 4
    assert any(c.startswith("operator namespace create -n default") for c in calls), calls
    assert "namespace default created" in output


def test_namespace_job_gives_up_with_a_message(tmp_path: Path) -> None:
    code, output, _ = _run_job("temporal-namespace", tmp_path, {"temporal": "exit 1\n"}, RETRY_ATTEMPTS="3")
    assert code != 0
    assert "gave up after 3 attempts: temporal operator cluster health" in output


def test_schema_job_retries_until_postgresql_answers(tmp_path: Path) -> None:
    code, output, calls = _run_job("temporal-schema", tmp_path, {"temporal-sql-tool": LATE_POSTGRES})
    assert code == 0, output
    creates = [c for c in calls if c.endswith(" create")]
    assert len(creates) == 4 and creates[-1].endswith("--db temporal_visibility create"), calls
    assert sum("update-schema" in c for c in calls) == 2
    assert "-u qualitrail " in calls[0]


def test_contracts_job_waits_for_a_chain_that_answers_rpc() -> None:
    services = resolve(ROOT, first_run_env()).services
    assert services["contracts"]["depends_on"]["anvil"]["condition"] == "service_healthy"
    check = services["anvil"]["healthcheck"]["test"]
    assert check[1:3] == ["cast", "block-number"]  # a JSON-RPC answer, not an open port
    assert services["contracts"]["restart"].startswith("on-failure")


# --- the rest of the list ---------------------------------------------------------------------


def test_postgresql_health_check_goes_over_tcp() -> None:
    test = " ".join(resolve(ROOT, first_run_env()).services["postgresql"]["healthcheck"]["test"])
    assert re.search(r"pg_isready .*-h (127\.0\.0\.1|localhost)\b", test), test


def test_history_shards_are_chosen_explicitly() -> None:
    text = first_run_env()
    env = resolve(ROOT, text).services["temporal"]["environment"]
    assert int(env["NUM_HISTORY_SHARDS"]) >= 512
    without = "\n".join(line for line in text.splitlines() if not line.startswith("TEMPORAL_NUM_HISTORY_SHARDS="))
    with pytest.raises(MissingRequired, match="before the first start"):
        resolve(ROOT, without)


def test_temporal_ui_decodes_through_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    project = resolve(ROOT, first_run_env())
    ui = project.services["temporal-ui"]
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"] == project.dotenv["QT_PUBLIC_BASE_URL"] + "/codec"
    # The API lets exactly one browser origin call /codec: the UI's, on the port the UI publishes.
    settings = load_settings(project.container_env("api"), monkeypatch)
    ui_port = ui["ports"][0].rsplit(":", 1)[0].rsplit(":", 1)[1]
    assert settings.temporal_ui_origin.rstrip("/").endswith(f":{ui_port}")


def test_images_are_confirmed_releases() -> None:
    services = resolve(ROOT, first_run_env()).services
    pinned = {svc["image"] for svc in services.values() if "build" not in svc}
    assert pinned <= CONFIRMED_IMAGES, pinned - CONFIRMED_IMAGES
    temporal = {svc["image"].rsplit(":", 1)[1] for svc in services.values() if svc["image"].startswith(
        ("temporalio/server:", "temporalio/admin-tools:"))}
    assert len(temporal) == 1  # the schema tool must be the server's own release
