"""Readers of docker/ and the Procfile for the tests: compose services, Dockerfile instructions."""

from __future__ import annotations

import json
import shlex
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
OUR_DOCKERFILE = "docker/Dockerfile"


@cache
def procfile() -> dict[str, tuple[str, ...]]:
    """Each process type of the Procfile and its argv."""
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = tuple(shlex.split(command))
    return processes


def compose() -> dict[str, Any]:
    # PyYAML resolves the anchors and the `<<` merge keys as docker compose does.
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def build_of(service: dict[str, Any]) -> tuple[Path, str] | None:
    """The build context (absolute) and Dockerfile (relative to it) of a service, if it builds."""
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return (DOCKER / build).resolve(), "Dockerfile"
    return (DOCKER / build.get("context", ".")).resolve(), build.get("dockerfile", "Dockerfile")


def app_services() -> dict[str, dict[str, Any]]:
    """The services that run the node's own image."""
    return {
        name: service for name, service in services().items()
        if build_of(service) == (ROOT, OUR_DOCKERFILE)
    }


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def dockerfile(path: Path) -> list[tuple[str, str]]:
    """The instructions of a Dockerfile as (KEYWORD, arguments), continuation lines joined."""
    instructions, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, arguments = (current + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def arguments(text: str) -> list[str]:
    """An instruction's arguments, in the JSON (exec) form or the shell form."""
    if text.startswith("["):
        parsed: list[str] = json.loads(text)
        return parsed
    return shlex.split(text)


def copies(path: Path) -> list[tuple[list[str], str, list[str]]]:
    """Each COPY/ADD of a Dockerfile as (sources, destination, flags)."""
    found = []
    for keyword, text in dockerfile(path):
        if keyword in ("COPY", "ADD"):
            args = arguments(text)
            flags = [a for a in args if a.startswith("--")]
            paths = [a for a in args if not a.startswith("--")]
            found.append((paths[:-1], paths[-1], flags))
    return found


def ignore_patterns(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether a .dockerignore leaves a path out of the build context (the last match decides).

    Close to Docker's rules, erring towards "left out": here `*` also crosses `/`.
    """
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        candidates = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatchcase(prefix, p) for prefix in prefixes for p in candidates):
            result = not negated
    return result
