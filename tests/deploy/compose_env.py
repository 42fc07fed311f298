"""What Docker Compose does with docker-compose.yml and .env before it starts anything, without it.

No Compose binary or engine runs on these machines, so this follows Compose's own rules (the
compose-spec's interpolation and env-file sections) closely enough to catch a stack that cannot start:

- ``.env`` lines: ``KEY=value``, ``export KEY=value``, ``# comment``; ``KEY=`` is an empty string, not
  unset; single quotes are literal; double-quoted and unquoted values are interpolated; an unquoted
  value ends at `` #``.
- interpolation of every string in the file: ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}`` (empty or
  unset), ``${VAR-default}`` (unset), ``${VAR:?message}``/``${VAR?message}``, ``${VAR:+alt}``/``${VAR+alt}``;
  any other ``$`` is an error, as in Compose.
- a container's environment: the image's ``ENV``, then each ``env_file`` (interpolated too), then
  ``environment``, later ones winning.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class MissingRequired(Exception):
    """``${VAR:?message}`` met an unset (or empty) VAR: Compose refuses to start and prints this."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"required variable {name} is missing a value: {message}")
        self.name = name
        self.message = message


class InvalidTemplate(ValueError):
    """A ``$`` Compose cannot interpret (write ``$$`` for a literal dollar)."""


def interpolate(text: str, env: Mapping[str, str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1: i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            out.append(_braced(text[i + 2: end], env))
            i = end + 1
        elif m := re.match(_NAME, text[i + 1:]):
            out.append(env.get(m.group(0), ""))
            i += 1 + m.end()
        else:
            raise InvalidTemplate(f"invalid interpolation at {text[i:i + 12]!r} in {text!r}")
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise InvalidTemplate(f"unclosed ${{ in {text!r}")


def _braced(expr: str, env: Mapping[str, str]) -> str:
    m = re.fullmatch(rf"({_NAME})(?:(:?[-?+])(.*))?", expr, re.DOTALL)
    if not m:
        raise InvalidTemplate(f"invalid interpolation ${{{expr}}}")
    name, op, arg = m.group(1), m.group(2), m.group(3) or ""
    value = env.get(name)
    is_set = value is not None
    has_value = bool(value)
    if op is None:
        return value or ""
    present = has_value if op.startswith(":") else is_set
    kind = op[-1]
    if kind == "-":
        return value if present and value is not None else interpolate(arg, env)
    if kind == "+":
        return interpolate(arg, env) if present else ""
    if not present:  # "?"
        raise MissingRequired(name, interpolate(arg, env))
    return value or ""


def parse_env_file(text: str, lookup: Mapping[str, str] | None = None) -> dict[str, str]:
    """An env file as Compose reads it (for ``.env`` and for ``env_file``), values interpolated."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(_NAME, key):
            raise ValueError(f"line {number}: not KEY=value: {raw!r}")
        value = value.lstrip()
        env = {**(lookup or {}), **out}
        if value.startswith("'"):
            value = value[1:value.index("'", 1)]
        elif value.startswith('"'):
            value = interpolate(value[1:value.index('"', 1)].replace("\\n", "\n"), env)
        else:
            value = interpolate(re.split(r"\s+#", value, maxsplit=1)[0].rstrip(), env)
        out[key] = value
    return out


def dockerfile_env(text: str) -> dict[str, str]:
    """The ``ENV`` an image built from this Dockerfile starts its containers with."""
    env: dict[str, str] = {}
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):  # comment lines inside a continuation are dropped
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        logical.append(current + raw)
        current = ""
    for line in logical:
        words = line.split(None, 1)
        if len(words) == 2 and words[0].upper() == "ENV":
            for token in shlex.split(words[1]):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def _interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, env) for key, value in node.items()}
    return node


def _environment(section: Any) -> dict[str, str]:
    if isinstance(section, list):
        return dict(item.partition("=")[::2] for item in section)
    return {key: "" if value is None else str(value) for key, value in (section or {}).items()}


@dataclass
class Project:
    """docker-compose.yml after interpolation, with the env-file values it was resolved with."""

    root: Path
    dotenv_text: str
    dotenv: dict[str, str]
    services: dict[str, dict[str, Any]]
    image_env: dict[str, dict[str, str]] = field(default_factory=dict)

    def container_env(self, service: str) -> dict[str, str]:
        """The environment the service's container starts with (the image's own ENV counted only for
        images built from this repository's Dockerfile)."""
        svc = self.services[service]
        env = dict(self.image_env.get(service, {}))
        for item in svc.get("env_file") or []:
            path = item if isinstance(item, str) else item["path"]
            # `.env` is the file being resolved; any other env_file is read from the repository.
            text = self.dotenv_text if path == ".env" else (self.root / path).read_text(encoding="utf-8")
            env.update(parse_env_file(text, self.dotenv))
        env.update(_environment(svc.get("environment")))
        return env


def resolve(root: Path, dotenv_text: str, *, compose_file: str = "docker-compose.yml") -> Project:
    """Resolves the compose file as ``docker compose config`` would with ``dotenv_text`` as ``.env``
    (the app services read the same text again as their ``env_file``).

    Raises:
        MissingRequired: for the first ``${VAR:?message}`` without a value, as Compose does.
    """
    dotenv = parse_env_file(dotenv_text)
    data = yaml.safe_load((root / compose_file).read_text(encoding="utf-8"))
    # x-* extension fields are YAML anchors only; Compose does not interpolate them as services.
    services = _interpolate_tree(data["services"], dotenv)
    image_env = {}
    for name, svc in services.items():
        if svc.get("build") == ".":
            image_env[name] = dockerfile_env((root / "Dockerfile").read_text(encoding="utf-8"))
    return Project(root=root, dotenv_text=dotenv_text, dotenv=dotenv, services=services, image_env=image_env)
