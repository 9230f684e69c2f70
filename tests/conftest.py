"""Test-wide fixtures: the database each run uses, and real servers started on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from lib.demo_ca import DemoCertificates, write_demo_certs
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer, start_orthanc
from tests.servers.postgres import PostgresServer, start_postgres
from tests.servers.redis import RedisServer, start_redis

ON_POSTGRES = os.environ.get("TEST_DATABASE") == "postgresql"

# For tests that start the node's processes: they share the test database, so data must be
# committed (transactional tests), and the test database must exist.
needs_node = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


# What a test asks for when it touches the database.
_DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "node_environment"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With TEST_DATABASE_ONLY=1 (scripts/test's PostgreSQL run), only the tests that touch a
    database: the others run the same code whichever the database is. Tests marked `stress`
    run only under STRESS=1 (`make stress`)."""
    if os.environ.get("STRESS") != "1":
        slow = [item for item in items if item.get_closest_marker("stress")]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if not item.get_closest_marker("stress")]
    if os.environ.get("TEST_DATABASE_ONLY") != "1":
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        touches = (item.get_closest_marker("django_db") is not None
                   or _DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))
        (kept if touches else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_configure(config: pytest.Config) -> None:
    # Tasks the test process itself enqueues (on-commit kicks) go to an in-memory broker; the
    # node's processes under test get their real broker from `node_environment`.
    from config.celery import app

    app.conf.update(broker_url="memory://")
    _retry_flush_on_deadlock()


def _retry_flush_on_deadlock() -> None:
    """The node's processes keep writing (heartbeats, audit forwarding) while a transactional
    test's teardown TRUNCATEs every table; PostgreSQL may then pick the TRUNCATE as a deadlock's
    victim. The processes' writes are the real thing, so the teardown retries rather than they stop."""
    import time

    from django.db.backends.base.operations import BaseDatabaseOperations
    from django.db.utils import OperationalError

    flush = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: BaseDatabaseOperations, sql_list: Iterable[str]) -> None:
        statements = list(sql_list)
        for attempt in range(5):
            try:
                flush(self, statements)
                return
            except OperationalError as exc:
                if "deadlock" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request: pytest.FixtureRequest,
                                 tmp_path_factory: pytest.TempPathFactory) -> None:
    """SQLite in a file the node's processes can share, or PostgreSQL started for this run."""
    from django.conf import settings
    from django.db import connections

    db = cast(dict[str, Any], settings.DATABASES["default"])
    if ON_POSTGRES:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        db.update(
            ENGINE="django.db.backends.postgresql", NAME="hienode", USER=server.user,
            PASSWORD="", HOST="127.0.0.1", PORT=str(server.port), OPTIONS={},
            CONN_MAX_AGE=0,
        )
        db["TEST"]["NAME"] = "test_hienode"
    else:
        db["TEST"]["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")
    # Nothing may have opened a connection with the settings of before.
    connections.close_all()
    local = cast(Any, connections)._connections
    for alias in list(connections.settings):
        if hasattr(local, alias):
            delattr(local, alias)


def database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def node_environment(request: pytest.FixtureRequest, django_db_setup: None,
                     tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What the node's processes are started with: this run's database and broker.

    pytest-django creates the test database only for tests that ask for one, so every test
    that starts the node is marked `django_db(transaction=True)` (see `needs_node`).
    """
    url = database_url()
    if "test" not in url.rsplit("/", 1)[-1]:
        pytest.fail("the node would start on a non-test database: mark the test with needs_node",
                    pytrace=False)
    env = {"DATABASE_URL": url}
    if ON_POSTGRES:
        redis: RedisServer = request.getfixturevalue("redis_server")
        env["CELERY_BROKER_URL"] = redis.url
    else:
        broker = tmp_path_factory.mktemp("broker") / "broker.sqlite3"
        env["CELERY_BROKER_URL"] = f"sqla+sqlite:///{broker}"
    return env


@pytest.fixture(scope="session")
def node(node_environment: dict[str, str],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """The node, started lazily: a test calls `node.start("web", "mllp", ...)` for what it needs."""
    running = Node(base=tmp_path_factory.mktemp("node"), env=node_environment)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory, node: Node) -> Iterator[OrthancServer]:
    """Hospital A's PACS, knowing the node as a DICOM modality."""
    server = start_orthanc(
        tmp_path_factory.mktemp("orthanc"), ae_title="HOSPA_PACS",
        modalities={"HIENODE": ("HIENODE", "127.0.0.1", node.dicom_port)},
    )
    yield server
    server.stop()


@pytest.fixture
def fixtures_dir() -> Path:
    return Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def exchange_ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """The exchange's CA, the node's server certificate, hospital A's client certificate and one
    for a system no organisation has claimed (ITI-19)."""
    return write_demo_certs(tmp_path_factory.mktemp("exchange-ca"), clients=["hospa", "unclaimed"])


@pytest.fixture(scope="session")
def stranger_ca(tmp_path_factory: pytest.TempPathFactory) -> DemoCertificates:
    """A CA the node does not trust, and a client certificate it issued."""
    return write_demo_certs(tmp_path_factory.mktemp("stranger-ca"), clients=["hospa"])


@pytest.fixture(scope="session")
def tls_node(node_environment: dict[str, str], exchange_ca: DemoCertificates,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """A node with its TLS listeners configured: `webtls`, MLLP and DICOM over TLS (ITI-19)."""
    running = Node(base=tmp_path_factory.mktemp("tls-node"), env={
        **node_environment,
        "TLS_CERT_FILE": str(exchange_ca.server.cert),
        "TLS_KEY_FILE": str(exchange_ca.server.key),
        "TLS_CA_FILE": str(exchange_ca.ca.cert),
    })
    yield running
    running.stop()


@pytest.fixture
def hospital_a_certificate(exchange_ca: DemoCertificates) -> Any:
    """Hospital A, its client certificate registered, in the database the node's processes share."""
    from organisations.certificates import read_pem
    from organisations.services import client_certificate_register, organisation_create

    hospital_a = organisation_create(code="hospa", name="Hospital A")
    return client_certificate_register(
        organisation=hospital_a, certificate=read_pem(exchange_ca.clients["hospa"].cert.read_text()))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """moto's S3 server: a real S3 API server on loopback, standing in for S3 or MinIO, which
    can't run here. `s3_server.new_bucket()` gives a test an empty bucket of its own."""
    from tests.servers.s3 import start_s3

    server = start_s3(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()
