"""PostgreSQL restarted in the middle of a burst of ITI-41 submissions, against the node's real `web`.

ITI TF-2b 3.41.4.1.3: a Provide and Register is all or nothing. Every submission answered Success
is registered whole (entries, associations, bytes with their SHA-1); every other one was answered
a failure in SOAP's terms and left no rows behind, nor bytes once the orphan cleanup has run, and
the node serves again on the same processes once the database is back.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.db import connections
from lxml import etree

from registry import services as registry
from registry.models import Association, DocumentEntry, SubmissionSet
from repository.models import Document
from tests.registry.submissions import CHIP_MOORE, unique_ids
from tests.repository.provide import provide_request, text_submission
from tests.servers.node import ROOT, Node
from tests.servers.postgres import PostgresServer
from tests.stress.conftest import STRESS_MARKS, eventually, store_files

pytestmark = STRESS_MARKS

CLIENTS = 6
BURST_SECONDS = float(os.environ.get("STRESS_PG_BURST_SECONDS", "20"))
DOWN_SECONDS = 3.0
SUCCESS = b"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = b"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SOAP_FAULT = b"http://www.w3.org/2003/05/soap-envelope"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"


@dataclass(frozen=True)
class Sent:
    document_unique_id: str
    set_unique_id: str
    sha1: str
    answer: str  # "success", "failure" (a RegistryResponse Failure or a SOAP fault), or what else came
    detail: str = ""


def test_a_postgres_restart_mid_burst_leaves_every_submission_whole_or_absent(
        own_node: Callable[..., Node], postgres_server: PostgresServer) -> None:
    registry.patient_identity_register(patient_id=CHIP_MOORE)
    node = own_node(LOG_LEVEL="WARNING").start("web")
    web_pid = node.processes["web"].pid
    sent: list[Sent] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(base_url=node.url, timeout=60) as http:
            while not stop.is_set():
                outcome = submit(http, seed=number)
                with lock:
                    sent.append(outcome)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(BURST_SECONDS / 4)
        restart(postgres_server)
        time.sleep(BURST_SECONDS * 3 / 4)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    connections.close_all()  # the test process's own connection died with the server

    print(f"{len(sent)} submissions, {sum(s.answer == 'failure' for s in sent)} failed")
    unclean = [s for s in sent if s.answer not in ("success", "failure")]
    assert not unclean, unclean[:5]
    failed = [s for s in sent if s.answer == "failure"]
    assert failed, "the restart fell between submissions: no failure to check"
    assert len(failed) < len(sent)
    for outcome in sent:
        (registered if outcome.answer == "success" else absent)(outcome, node)
    # A submission that failed at its commit while the database could not say whether it had
    # committed leaves its bytes to the orphan cleanup (repository.services). Asked to remove
    # anything unnamed, the cleanup leaves the store holding the bytes of registered documents
    # and nothing else, partial files included.
    left = orphans_removed(node)
    print(f"{left} files of failed submissions left to the orphan cleanup")
    assert left <= len(failed)
    assert store_files(node) == set(Document.objects.values_list("key", flat=True))

    # The same processes answer again: each web thread's connection the restart cut fails at most
    # one request (config/settings.py: persistent connections without health checks).
    threads_per_node = int(node.env.get("WEB_WORKERS", "2")) * int(node.env.get("WEB_THREADS", "8"))
    with httpx.Client(base_url=node.url, timeout=60) as http:
        streak, failures = 0, 0
        while streak < 20:
            outcome = submit(http, seed=99)
            assert outcome.answer in ("success", "failure"), outcome
            if outcome.answer == "success":
                streak += 1
                registered(outcome, node)
            else:
                streak, failures = 0, failures + 1
                assert failures <= threads_per_node, outcome
    assert node.processes["web"].pid == web_pid and node.processes["web"].alive()


def submit(http: httpx.Client, *, seed: int) -> Sent:
    root = text_submission(patient_id=CHIP_MOORE)
    ids = unique_ids(root)
    data = f"report {ids['document']} from client {seed}\n".encode() * 64
    request = provide_request(root, {"Document01": data})
    sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    try:
        answer = http.post("/xds/repository", content=request.body,
                           headers={"Content-Type": request.content_type})
    except httpx.HTTPError as exc:
        return Sent(ids["document"], ids["submission_set"], sha1, "transport", repr(exc))
    return Sent(ids["document"], ids["submission_set"], sha1, *classify(answer))


def classify(answer: httpx.Response) -> tuple[str, str]:
    """A clean answer is the repository's RegistryResponse, or a SOAP 1.2 fault (ITI TF-2x V.3)."""
    body = answer.content
    if answer.status_code == 200 and SUCCESS in body:
        return "success", ""
    if answer.status_code == 200 and FAILURE in body:
        return "failure", ""
    if answer.headers.get("content-type", "").startswith("application/soap+xml"):
        try:
            root = etree.fromstring(body)
        except etree.XMLSyntaxError:
            return f"HTTP {answer.status_code}, not XML", body[:500].decode(errors="replace")
        if root.find(f"{{{SOAP_FAULT.decode()}}}Body/{{{SOAP_FAULT.decode()}}}Fault") is not None:
            return "failure", ""
    return f"HTTP {answer.status_code}", body[:500].decode(errors="replace")


def registered(outcome: Sent, node: Node) -> None:
    entry = DocumentEntry.objects.get(unique_id=outcome.document_unique_id)
    submission_set = SubmissionSet.objects.get(unique_id=outcome.set_unique_id)
    assert Association.objects.filter(source_uuid=submission_set.entry_uuid, target_uuid=entry.entry_uuid,
                                      association_type=HAS_MEMBER).exists()
    document = Document.objects.get(unique_id=outcome.document_unique_id)
    path = Path(node.env["VAR_DIR"]) / "documents" / document.key
    assert hashlib.sha1(path.read_bytes(), usedforsecurity=False).hexdigest() == outcome.sha1 == document.sha1


def absent(outcome: Sent, node: Node) -> None:
    assert not DocumentEntry.objects.filter(unique_id=outcome.document_unique_id).exists(), outcome
    assert not SubmissionSet.objects.filter(unique_id=outcome.set_unique_id).exists(), outcome
    assert not Document.objects.filter(unique_id=outcome.document_unique_id).exists(), outcome


def restart(server: PostgresServer) -> None:
    """A fast shutdown of the postmaster (SIGINT: open transactions are rolled back, sessions cut),
    then the same cluster started again on the same port."""
    process = server.process
    assert process.process is not None
    postmaster = int((server.base / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGINT)
    process.process.wait(timeout=60)
    time.sleep(DOWN_SECONDS)
    process.start().wait_for_port(server.port)
    eventually(lambda: accepts(server), timeout=30, what="PostgreSQL did not come back")


def accepts(server: PostgresServer) -> bool:
    import psycopg

    try:
        with psycopg.connect(server.url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def orphans_removed(node: Node) -> int:
    """The node's own orphan cleanup (repository.services.orphans_remove), told that anything
    unnamed is old enough, run in a child process with the node's settings."""
    child = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from repository.services import orphans_remove\nprint(orphans_remove(older_than_seconds=0))"],
        env={**node.processes["web"].env}, cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False)
    if child.returncode != 0:
        pytest.fail(f"orphan cleanup failed:\n{child.stderr[-4000:]}")
    return int(child.stdout.strip().splitlines()[-1])
