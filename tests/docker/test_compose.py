"""docker/compose.yaml and the Dockerfiles, read without Docker: every command, file and service
they name exists in this project."""

from __future__ import annotations

import importlib
import json
import re
import runpy
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import get_commands

from tests.docker.layout import (
    COMPOSE,
    DOCKER,
    OUR_DOCKERFILE,
    ROOT,
    app_services,
    arguments,
    build_of,
    compose,
    copies,
    dockerfile,
    environment,
    ignore_patterns,
    ignored,
    procfile,
    services,
)
from tests.servers.process import require_binary

PLANNED_SERVICES = {"postgres", "redis", "web", "webtls", "worker", "beat", "mllp", "dicom",
                    "orthanc", "rsyslog"}
APP_ENVIRONMENT = {
    "DATABASE_URL": "postgres://hienode:hienode@postgres:5432/hienode",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
    "BIND_ADDRESS": "0.0.0.0",
    "ALLOWED_HOSTS": "*",
    "AUDIT_SYSLOG_URL": "tls://rsyslog:6514",
}
# Made per installation by docker/make-demo-certs.sh, never committed.
CERTIFICATE_FOLDERS = {"./certs", "./rsyslog/certs"}
MANAGE_PY_PROCESSES = sorted(
    (name, argv[2]) for name, argv in procfile().items() if argv[:2] == ("python", "manage.py")
)
CELERY_PROCESSES = sorted(name for name, argv in procfile().items() if argv[0] == "celery")


def our_image_instructions() -> list[tuple[str, str]]:
    return dockerfile(ROOT / OUR_DOCKERFILE)


# --- The topology.

def test_the_topology_runs_exactly_the_planned_services() -> None:
    assert set(services()) == PLANNED_SERVICES


def test_every_procfile_process_has_a_service_running_our_image() -> None:
    assert set(app_services()) == set(procfile())


@pytest.mark.parametrize("process", sorted(procfile()))
def test_each_service_runs_the_command_its_procfile_line_gives(process: str) -> None:
    service = app_services()[process]
    assert tuple(service["command"]) == procfile()[process]


def test_the_app_environment_is_written_once_under_the_x_app_anchor() -> None:
    text = COMPOSE.read_text()
    assert "x-app" in compose()
    assert re.search(r"^x-app: &app\b", text, re.MULTILINE)
    assert text.count("DATABASE_URL:") == 1


@pytest.mark.parametrize("process", sorted(procfile()))
def test_each_app_service_talks_to_postgres_redis_and_the_audit_repository(process: str) -> None:
    env = environment(app_services()[process])
    assert {key: env.get(key) for key in APP_ENVIRONMENT} == APP_ENVIRONMENT
    # Compose refuses to start without a key rather than run with a known one.
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", env["SECRET_KEY"])


def test_only_web_runs_the_migrations() -> None:
    migrating = {name for name, service in app_services().items()
                 if environment(service).get("RUN_MIGRATIONS") == "1"}
    assert migrating == {"web"}


def test_every_service_a_service_waits_for_exists_with_the_health_check_it_waits_on() -> None:
    for name, service in services().items():
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in services(), f"{name} depends on the unknown service {needed}"
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in services()[needed], f"{name} waits on {needed}'s health"


def test_the_web_service_has_a_health_check() -> None:
    assert services()["web"]["healthcheck"]["test"] == ["CMD", "hienode-healthcheck"]


def test_every_named_volume_is_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for service in services().values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if not source.startswith((".", "/")):
                assert source in declared, f"volume {source} is not declared"


def bind_mounts() -> list[tuple[str, str, str]]:
    """Each (service, source, target) a service mounts from the host."""
    mounts = []
    for name, service in services().items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str):
                source, target = volume.split(":")[:2]
            else:
                source, target = volume.get("source", ""), volume.get("target", "")
            if source.startswith((".", "/")):
                mounts.append((name, source, target))
    return mounts


def test_every_config_file_mounted_into_a_service_exists_under_docker() -> None:
    for name, source, _ in bind_mounts():
        path = (DOCKER / source).resolve()
        assert path.is_relative_to(DOCKER), f"{name} mounts {source}, outside docker/"
        if source not in CERTIFICATE_FOLDERS:
            assert path.exists(), f"{name} mounts {source}, which does not exist"


def test_the_certificate_folders_mounted_are_never_committed() -> None:
    mounted = {source for _, source, _ in bind_mounts() if source.endswith("certs")}
    assert mounted == CERTIFICATE_FOLDERS
    ignored_here = (DOCKER / ".gitignore").read_text().splitlines()
    for folder in mounted:
        assert f"/{folder.removeprefix('./')}/" in ignored_here


def test_make_demo_certs_fills_every_certificate_file_the_services_read(tmp_path: Path) -> None:
    require_binary("openssl")
    subprocess.run([str(DOCKER / "make-demo-certs.sh"), str(tmp_path)], check=True,
                   capture_output=True, timeout=120)
    wanted = re.findall(r'"(/etc/rsyslog/certs/[\w.-]+)"',
                        (DOCKER / "rsyslog" / "rsyslog.conf").read_text())
    wanted += sorted({value for service in app_services().values()
                      for value in environment(service).values()
                      if value.startswith("/etc/hienode/tls/")})
    assert len(wanted) == 6  # a CA, a certificate and a key on each side
    for name, source, target in bind_mounts():
        if source in CERTIFICATE_FOLDERS:
            for path in wanted:
                if path.startswith(target + "/"):
                    made = tmp_path / source / path.removeprefix(target + "/")
                    assert made.is_file(), f"{name} reads {path}, which make-demo-certs.sh omits"


# --- The processes' commands exist in this project.

@pytest.mark.parametrize(("process", "command"), MANAGE_PY_PROCESSES)
def test_each_manage_py_process_is_a_django_management_command(process: str, command: str) -> None:
    assert command in get_commands(), (
        f"the {process} process runs `manage.py {command}`, but no installed app has "
        f"management/commands/{command}.py"
    )


def test_the_entrypoint_migrates_with_a_command_django_has() -> None:
    commands = re.findall(r"python manage\.py (\w+)", (DOCKER / "entrypoint.sh").read_text())
    assert commands == ["migrate"]
    assert "migrate" in get_commands()


def test_the_web_process_names_a_gunicorn_config_and_wsgi_module_that_exist() -> None:
    argv = procfile()["web"]
    assert argv[0] == "gunicorn"
    config = ROOT / argv[argv.index("--config") + 1]
    assert config.is_file()
    assert "bind" in runpy.run_path(str(config))
    module, _, variable = argv[-1].partition(":")
    assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file()
    assert callable(getattr(importlib.import_module(module), variable or "application"))


@pytest.mark.parametrize("process", CELERY_PROCESSES)
def test_each_celery_process_names_an_app_celery_finds(process: str) -> None:
    from celery import Celery
    from celery.app.utils import find_app

    import config.celery

    argv = procfile()[process]
    assert isinstance(config.celery.app, Celery)
    assert find_app(argv[argv.index("--app") + 1]) is config.celery.app


def test_every_program_the_processes_run_is_pinned_in_the_lock_file() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    for argv in procfile().values():
        if argv[0] != "python":  # the base image's interpreter
            assert re.search(rf"^{re.escape(argv[0])}==", lock, re.MULTILINE), argv[0]


# --- The images.

def test_every_file_a_dockerfile_copies_exists_in_its_build_context() -> None:
    builds = {build_of(service) for service in services().values()} - {None}
    assert len(builds) == 2  # the node's image and the audit repository's
    for build in builds:
        assert build is not None
        context, name = build
        assert (context / name).is_file(), f"no Dockerfile {context / name}"
        for sources, _, flags in copies(context / name):
            if any(flag.startswith("--from") for flag in flags):
                continue
            for source in sources:
                found = (context / source).exists() or any(context.glob(source))
                assert found, f"{name} copies {source}, missing in {context}"


def test_the_image_runs_the_web_process_by_default() -> None:
    cmd = [arguments(text) for keyword, text in our_image_instructions() if keyword == "CMD"]
    assert tuple(cmd[-1]) == procfile()["web"]


def test_the_image_is_python_3_11_on_bookworm_and_installs_exactly_the_lock_file() -> None:
    instructions = our_image_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    runs = [text for keyword, text in instructions if keyword == "RUN"]
    assert "pip install --require-hashes --no-deps -r requirements.lock" in runs


def test_the_image_runs_as_its_own_user_with_its_state_in_var_lib_hienode() -> None:
    instructions = our_image_instructions()
    users = [text for keyword, text in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(text for keyword, text in instructions if keyword == "ENV")
    assert "VAR_DIR=/var/lib/hienode" in env


def test_the_image_exposes_the_nodes_six_ports() -> None:
    exposed = {int(port) for keyword, text in our_image_instructions() if keyword == "EXPOSE"
               for port in text.split()}
    assert exposed == {8080, 8443, 2575, 2576, 11112, 2762}


def test_the_image_installs_the_entrypoint_and_health_check_it_names() -> None:
    instructions = our_image_instructions()
    installed = {Path(destination).name for _, destination, _ in copies(ROOT / OUR_DOCKERFILE)}
    entrypoint = [arguments(text) for keyword, text in instructions if keyword == "ENTRYPOINT"]
    assert entrypoint[-1][0] in installed
    assert services()["web"]["healthcheck"]["test"][1] in installed


def test_the_image_keeps_everything_the_processes_import() -> None:
    patterns = ignore_patterns(DOCKER / "Dockerfile.dockerignore")
    packages = sorted(p.parent.name for p in ROOT.glob("*/__init__.py")
                      if p.parent.name not in ("tests", "bench"))
    needed = ["manage.py", "requirements.lock", "config/gunicorn.py", "config/gunicorn_tls.py",
              "config/gunicorn_worker.py", "docker/entrypoint.sh", "docker/healthcheck.py",
              *(f"{package}/__init__.py" for package in packages)]
    assert "config" in packages
    assert [path for path in needed if ignored(path, patterns)] == []


def test_the_image_leaves_out_local_state_tests_and_keys() -> None:
    patterns = ignore_patterns(DOCKER / "Dockerfile.dockerignore")
    private = [".git/config", ".venv/bin/python", "var/hienode.sqlite3", "var/secret_key",
               "tests/conftest.py", "docker/.env", "docker/ca/ca-key.pem",
               "docker/certs/node-key.pem", "docker/rsyslog/certs/server-key.pem",
               "config/__pycache__/settings.cpython-311.pyc"]
    assert [path for path in private if not ignored(path, patterns)] == []


# --- The demo PACS and the audit repository.

def test_the_demo_pacs_knows_the_node_as_hienode_at_the_dicom_service() -> None:
    config = json.loads((DOCKER / "orthanc" / "orthanc.json").read_text())
    ae_title, host, port = config["DicomModalities"]["HIENODE"]
    assert (ae_title, host, port) == (settings.DICOM_AE_TITLE, "dicom", settings.DICOM_PORT)
    assert host in app_services()
    assert "DICOM_PORT" not in environment(app_services()["dicom"])


def test_the_audit_repository_listens_where_the_node_sends_audit_records() -> None:
    conf = (DOCKER / "rsyslog" / "rsyslog.conf").read_text()
    url = urlsplit(APP_ENVIRONMENT["AUDIT_SYSLOG_URL"])
    assert url.hostname in services()
    inputs = re.findall(r'input\(type="imtcp"[^)]*port="(\d+)"', conf)
    assert inputs == [str(url.port)]


def test_the_audit_repository_demands_tls_with_a_client_certificate_and_large_frames() -> None:
    conf = (DOCKER / "rsyslog" / "rsyslog.conf").read_text()
    imtcp = re.search(r'module\(\s*load="imtcp"(.*?)\)', conf, re.DOTALL | re.IGNORECASE)
    assert imtcp is not None
    options = dict(re.findall(r'([\w.]+)="([^"]*)"', imtcp.group(1)))
    options = {key.lower(): value for key, value in options.items()}
    assert options["streamdriver.mode"] == "1"
    assert options["streamdriver.authmode"] == "x509/certvalid"
    assert int(options["maxframesize"]) >= 1048576
    assert re.search(r'maxMessageSize="1m"', conf)
