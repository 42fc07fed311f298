"""The image runs as a non-root user, installs from the lock, and can contain no secret.

Secrets reach containers only at run time (env_file .env); these checks make sure none is baked
into the Dockerfile, the compose file or the committed example, and none is in the build context.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENV_EXAMPLE = ROOT / ".env.example"

PRIVATE_KEY_HEX = re.compile(r"\b(0x)?[0-9a-fA-F]{64}\b")
PEM = re.compile(r"-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----")
SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN|PWD)", re.IGNORECASE)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    joined = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        joined += line.removesuffix("\\") + " "
        if not line.endswith("\\"):
            word, _, rest = joined.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            joined = ""
    return out


def test_base_image_is_pinned_python_311_slim() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", froms[0]), froms[0]


def test_runs_as_non_root_user() -> None:
    steps = instructions()
    users = [(i, args) for i, (word, args) in enumerate(steps) if word == "USER"]
    assert users, "no USER instruction: the container would run as root"
    last_index, last_user = users[-1]
    assert last_user.split(":")[0] not in {"root", "0"}
    # Nothing after the switch may need root (or quietly switch back).
    assert all(word != "RUN" or "chown" not in args for word, args in steps[last_index:])
    cmd_index = max(i for i, (word, _) in enumerate(steps) if word in {"CMD", "ENTRYPOINT"})
    assert last_index < cmd_index


def test_installs_dependencies_from_the_lock_only() -> None:
    commands = [c.strip() for word, args in instructions() if word == "RUN" for c in re.split(r"&&|;", args)]
    installs = [c for c in commands if "pip install" in c]
    # Nothing unpinned sneaks in: the lock, then our own package without resolving dependencies.
    assert installs == ["pip install -r requirements.lock", "pip install --no-deps ."], installs


def test_no_secret_is_built_in() -> None:
    for word, args in instructions():
        if word in {"COPY", "ADD"}:
            sources = args.split()[:-1]
            assert not any(".env" in s and not s.endswith(".env.example") for s in sources), args
            assert not any(s.endswith((".pem", ".key")) for s in sources), args
        if word in {"ENV", "ARG"}:
            for name, value in re.findall(r"(\w+)=(\S*)", args):
                assert not (SECRET_NAME.search(name) and value), f"{word} {name} bakes a secret into the image"


def test_no_key_material_in_deployment_files() -> None:
    for path in [DOCKERFILE, DOCKERIGNORE, ENV_EXAMPLE, ROOT / "docker-compose.yml"]:
        text = path.read_text(encoding="utf-8")
        assert not PRIVATE_KEY_HEX.search(text), f"{path.name}: 64-hex value (a private key?)"
        assert not PEM.search(text), f"{path.name}: PEM block"


def test_env_example_holds_no_secret_values() -> None:
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        if SECRET_NAME.search(name):
            # Empty (chain keys: Anvil dev accounts on 31337 only); real secrets are commented out
            # and compose refuses to start until they are set (tests/deploy/test_compose_env.py).
            assert value == "", line


# ---------------------------------------------------------------- what `docker build` would send


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    pattern = pattern.strip("/")
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def _ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            rules.append((negate, _pattern_regex(line.removeprefix("!"))))
    return rules


def _ignored(rel: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    # Docker semantics, simplified: the last matching rule wins; a match on a parent excludes children.
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for negate, regex in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            result = not negate
    return result


def build_context() -> list[str]:
    rules = _ignore_rules()
    files = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel_dir = os.path.relpath(dirpath, ROOT)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [d for d in dirnames if not _ignored(rel_dir + d, rules)]
        files += [rel_dir + f for f in filenames if not _ignored(rel_dir + f, rules)]
    return files


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    rules = _ignore_rules()
    for path in [".env", ".env.production", "config/.env", "var/qualitrail.db", "var/anvil-state.json",
                 ".venv/bin/python", "contracts/node_modules/solc/index.js", "keys/signer.pem"]:
        assert _ignored(path, rules), path
    for path in ["requirements.lock", "pyproject.toml", "migrations/env.py", "alembic.ini", "config/policy.toml",
                 "contracts/artifacts/EvidenceRegistry.json"]:
        assert not _ignored(path, rules), path


def test_build_context_has_no_env_file_or_key_file() -> None:
    context = build_context()
    assert "Dockerfile" in context and "requirements.lock" in context
    names = [Path(f).name for f in context]
    assert not [n for n in names if n == ".env" or (n.startswith(".env.") and n != ".env.example")]
    assert not [f for f in context if f.endswith((".pem", ".key"))]
    for rel in context:
        path = ROOT / rel
        if path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        assert not PEM.search(text), f"{rel}: PEM block in the build context"


def test_qt_names_set_in_the_image_are_settings_fields() -> None:
    from settings import Settings

    names = {name for word, args in instructions() if word == "ENV" for name in re.findall(r"(QT_\w+)=", args)}
    assert names, "the image sets no QT_ defaults (expected at least QT_VAR_DIR)"
    assert sorted(n for n in names if n.removeprefix("QT_").lower() not in Settings.model_fields) == []
