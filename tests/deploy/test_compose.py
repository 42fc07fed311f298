"""Structural checks of docker-compose.yml (no Docker engine runs on these machines).

What an engine would reject or silently misconfigure, caught without one: a service with nothing
to run, a named volume never declared, a dependency on a missing service, a setting name the
application would ignore, a long-running service without a health check or restart policy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import Settings
from tests.deploy.compose_env import interpolate

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# One-shot jobs: they finish, so they have no health check and must not restart forever.
ONE_SHOT = {"temporal-schema", "temporal-namespace", "anvil-volume", "contracts"}
APP = {"api", "worker", "contracts", "mail"}
# Container port each long-running service must publish (the worker publishes none yet); the mail
# receiver's is QT_MAIL_PORT's default.
PUBLISHED = {"postgresql": 5432, "temporal": 7233, "temporal-ui": 8080, "anvil": 8545, "api": 8000, "mail": 8025}
# What faces the network: HTTP for people and machines, SMTP for inbound feedback e-mail.
PUBLIC = {"api", "mail"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = compose["services"]
    return svcs


def env_example_names() -> set[str]:
    """Names .env.example sets or shows commented out (`# NAME=`: required secrets, optional TLS)."""
    names = set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip().removeprefix("# ")
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", line):
            names.add(line.partition("=")[0])
    return names


def environment_names(service: dict[str, Any]) -> set[str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # ["NAME=value", ...] form
        return {item.partition("=")[0] for item in env}
    return set(env)


def test_expected_services(services: dict[str, dict[str, Any]]) -> None:
    assert {"postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "anvil", "api",
            "worker", "mail"} <= set(services)


def test_every_service_has_image_or_build(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name
        if "image" in svc and "build" not in svc:
            image = svc["image"]
            # Pinned: an explicit tag, never `latest`, so `up` next month runs what was reviewed.
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", image) and not image.endswith(":latest"), (name, image)


def test_no_deprecated_auto_setup_and_schema_by_admin_tools(services: dict[str, dict[str, Any]]) -> None:
    images = {name: svc.get("image", "") for name, svc in services.items()}
    assert not any("auto-setup" in image for image in images.values())
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    script = (ROOT / "deploy/temporal/scripts/setup-schema.sh").read_text(encoding="utf-8")
    assert services["temporal-schema"]["command"] == ["/scripts/setup-schema.sh"]
    assert "setup-schema" in script and "update-schema" in script
    assert "temporal_visibility" in script
    # Same release line for server and tools: the schema must be the one the server expects.
    assert images["temporal"].split(":")[1] == images["temporal-schema"].split(":")[1]
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"


def test_anvil_from_foundry_with_persistent_state(services: dict[str, dict[str, Any]]) -> None:
    anvil = services["anvil"]
    assert anvil["image"].startswith("ghcr.io/foundry-rs/foundry:")
    argv = [*anvil["entrypoint"], *anvil["command"]]
    assert argv[0] == "anvil"
    assert argv[argv.index("--state") + 1] == "/data/anvil-state.json"
    assert argv[argv.index("--state-interval") + 1] == "1"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert any(v.split(":")[1] == "/data" for v in anvil["volumes"])


def test_ports_are_well_formed(services: dict[str, dict[str, Any]]) -> None:
    for name, port in PUBLISHED.items():
        # Ports may come from .env (`${NAME:-default}`): read them with their defaults, as an empty .env would.
        ports = [interpolate(str(p), {}) for p in services[name].get("ports", [])]
        targets = [int(p.rsplit(":", 1)[1]) for p in ports]
        assert port in targets, (name, ports)
    for name, svc in services.items():
        for p in (interpolate(str(p), {}) for p in svc.get("ports", [])):
            assert re.fullmatch(r"(127\.0\.0\.1:)?\d+:\d+", p), (name, p)
            # Only the API and the mail receiver face the network; databases, Temporal, the chain stay on loopback.
            if name not in PUBLIC:
                assert str(p).startswith("127.0.0.1:"), (name, p)


def test_volumes_are_declared(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, svc in services.items():
        for v in svc.get("volumes", []):
            source = v.split(":")[0] if isinstance(v, str) else v["source"]
            if source.startswith("./deploy/") and v.endswith(":ro"):
                continue  # read-only config and scripts from this repository
            assert not source.startswith((".", "/")), f"{name}: bind mount {v}; use a named volume"
            used.add(source)
    assert used == declared
    # State that must survive `down`/`up` lives in named volumes.
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgresql"]["volumes"])


def test_depends_on_names_existing_services(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, (name, dep)
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dep)
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], (name, dep)


def test_health_checks_and_restart_policies(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        if name in ONE_SHOT:
            assert svc.get("restart") in {"no", "on-failure:5"}, name
            continue
        assert svc.get("restart") == "unless-stopped", name
        check = svc.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), name


def test_app_services_share_the_image_and_settings(services: dict[str, dict[str, Any]]) -> None:
    for name in APP:
        svc = services[name]
        assert svc["build"] == "." and svc["image"] == "qualitrail:local"
        assert svc["env_file"] == [{"path": ".env", "required": True}]
    assert services["api"]["environment"]["QT_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_every_qt_name_passed_to_the_app_is_a_settings_field(services: dict[str, dict[str, Any]]) -> None:
    fields = set(Settings.model_fields)
    names = env_example_names() | {n for s in APP for n in environment_names(services[s])}
    qt = {n for n in names if n.startswith("QT_")}
    assert qt, "no QT_ names found"
    unknown = sorted(n for n in qt if n.removeprefix("QT_").lower() not in fields)
    # pydantic-settings ignores unknown QT_ names (extra="ignore"): a typo would silently do nothing.
    assert unknown == []


def test_env_example_covers_what_compose_interpolates() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    interpolated = set(re.findall(r"(?<!\$)\$\{(\w+)", text))
    missing = interpolated - env_example_names()
    assert missing == set()


def test_env_file_is_git_ignored_and_example_is_not() -> None:
    ignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignore and "!.env.example" in ignore


def test_mail_receiver_runs_the_mail_command_with_what_it_needs(services: dict[str, dict[str, Any]]) -> None:
    mail = services["mail"]
    assert mail["command"] == ["python", "-m", "cli.main", "mail"]
    # It stores feedback in the read model and starts triage workflows; it never touches the chain.
    needs = mail["depends_on"]
    assert needs["postgresql"]["condition"] == "service_healthy"
    assert needs["temporal-namespace"] == {"condition": "service_completed_successfully", "required": False}
    assert "contracts" not in needs and "anvil" not in needs
    # Listens on all of the container's interfaces (settings default to loopback), on QT_MAIL_PORT.
    env = mail["environment"]
    assert env["QT_MAIL_HOST"] == "0.0.0.0"
    assert interpolate(env["QT_MAIL_PORT"], {}) == str(Settings.model_fields["mail_port"].default)
    # Same secrets and database as the API: the shared block is merged in, not copied.
    assert {k: v for k, v in env.items() if not k.startswith("QT_MAIL_")} == services["api"]["environment"]
    # The health check speaks SMTP to the port the receiver listens on.
    check = " ".join(mail["healthcheck"]["test"])
    assert "QT_MAIL_PORT" in check and "smtplib" in check
