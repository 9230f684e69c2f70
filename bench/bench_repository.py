"""The XDS.b repository over HTTP: ITI-41 and ITI-43 of one large document, ITI-41 submissions per
second, and RAD-69 of a whole study from a real Orthanc, against the node's real `web` process.

`run()` migrates a SQLite database in a child process, registers the patients there (the Patient
Identity Feed, `manage.py shell`), and starts `web` (gunicorn, 2 workers x 8 threads) on it with
the request limits raised above the largest document. The client streams both ways: an ITI-41
body is a generator of MTOM chunks whose document comes from a generator of pseudo-random bytes,
hashed as it is sent; an ITI-43 answer is read with `client.stream` and its part hashed as it
arrives, and its SHA-1 must be the one sent. Neither side ever holds a document whole. A thread
samples the RSS of every gunicorn process meanwhile (`bench.sampler`), and their CPU time is read
before and after. Each size goes in and out at least 3 times (10 for 1 MB), after a few small round
trips that warm both workers up; MB/s is the median.

Then 1 MB ITI-41 submissions are POSTed one at a time and from 8 threads. Last, a study of small CT
instances is uploaded to Orthanc, published by a KOS manifest (RAD-68) and fetched whole through
the node by RAD-69 (C-GET from Orthanc, MTOM answer).

Sizes: BENCH_REPOSITORY_SIZES_MB (default "1,100,1024"), BENCH_REPOSITORY_SUBMISSIONS (100
sequential 1 MB ITI-41 submissions, as many from 8 threads), BENCH_REPOSITORY_INSTANCES (300
instances in the study; 0 leaves RAD-69 out), BENCH_REPOSITORY_RAD69_ROUNDS (3), and
BENCH_REPOSITORY_S3_SIZES_MB (default "1024": the same round trip through a second web process
whose store is S3, moto's S3 API server on loopback; empty leaves it out).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from django.conf import settings
from python_multipart.multipart import MultipartParser, parse_options_header

from bench.sampler import PeakRss
from bench.table import Row
from soap.mtom import content_type
from tests.servers.node import Node

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
SIZES = [int(n) * MB for n in os.environ.get("BENCH_REPOSITORY_SIZES_MB", "1,100,1024").split(",") if n]
# The same round trip with the store on S3 (moto's S3 API server on loopback, which keeps objects
# in its own memory): the node's memory must stay bounded there too.
S3_SIZES = [int(n) * MB for n in os.environ.get("BENCH_REPOSITORY_S3_SIZES_MB", "1024").split(",") if n]
SUBMISSIONS = int(os.environ.get("BENCH_REPOSITORY_SUBMISSIONS", "100"))
INSTANCES = int(os.environ.get("BENCH_REPOSITORY_INSTANCES", "300"))
RAD69_ROUNDS = int(os.environ.get("BENCH_REPOSITORY_RAD69_ROUNDS", "3"))
CLIENTS = 8
CHUNK = MB
GOAL_RSS_MIB, GOAL_MB_S = 200, 100
ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
RAD69 = "urn:ihe:rad:2009:RetrieveImagingDocumentSet"
SUCCESS = b"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
HOSPITAL_A = "1.3.6.1.4.1.21367.13.20.1000"
PACS_LOCATION = f"{HOSPITAL_A}.9.1"


def run() -> list[Row]:
    from tests.registry.submissions import CHIP_MOORE
    from tests.repository.test_rad68 import PATIENT

    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-repository-") as tmp:
        base = Path(tmp)
        (base / "node").mkdir()
        node = Node(base=base / "node", env={"DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
                                             "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"})
        # Above the largest document, whatever the defaults are.
        limit = str(max([*SIZES, *S3_SIZES, 0]) + 64 * MB)
        node.env.update(SOAP_MAX_REQUEST_BYTES=limit, SOAP_MAX_PART_BYTES=limit)
        _manage(node, "migrate", "--verbosity", "0")
        _manage(node, "shell", "-c", "from registry import services\n" + "".join(
            f"services.patient_identity_register(patient_id={p!r})\n" for p in (CHIP_MOORE, PATIENT)))
        node.start("web")
        try:
            _warm_up(node)
            rows = [row for size in SIZES for row in _one_document(node, size)]
            rows += _submissions(node)
            if INSTANCES:
                rows += _rad69(node, base)
        finally:
            node.stop()
        if S3_SIZES:
            rows += _on_s3(node, base)
        return rows


def _on_s3(first: Node, base: Path) -> list[Row]:
    from tests.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, start_s3

    server = start_s3(base / "s3")
    bucket = server.new_bucket()
    (base / "s3-node").mkdir()
    node = Node(base=base / "s3-node", env={})
    # After the Node's own defaults, which include a small part limit.
    node.env.update({k: v for k, v in first.env.items() if k in _SHARED_ENV})
    node.env.update(STORAGE_URL=f"s3://{bucket}?endpoint_url={server.endpoint_url}&region={REGION}",
                    AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    node.start("web")
    try:
        _warm_up(node)
        return [row for size in S3_SIZES for row in _one_document(node, size, store="S3")]
    finally:
        node.stop()
        server.stop()


_SHARED_ENV = ("DATABASE_URL", "CELERY_BROKER_URL", "LOG_LEVEL", "SOAP_MAX_REQUEST_BYTES",
               "SOAP_MAX_PART_BYTES")


def _manage(node: Node, *args: str) -> None:
    child = subprocess.run([sys.executable, "manage.py", *args], env={**os.environ, **node.env}, cwd=ROOT,
                           capture_output=True, text=True, timeout=600, check=False)
    if child.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{child.stderr[-4000:]}")


# ITI-41 and ITI-43 of one document

def _one_document(node: Node, size: int, *, store: str = "files") -> list[Row]:
    rounds = max(3, min(10, 256 * MB // size)) if store == "files" else 2
    sent: list[float] = []
    got: list[float] = []
    rss_in = rss_out = 0
    cpu_in = cpu_out = 0.0
    web = node.processes["web"].pid
    with _client(node, timeout=1800) as client:
        for number in range(rounds):
            cpu = _cpu_seconds(web)
            with PeakRss(web) as rss:
                unique_id, sha1, seconds = _provide(client, size, seed=size + number)
            rss_in, sent = max(rss_in, rss.peak_per_process), [*sent, seconds]
            cpu_in, cpu = cpu_in + _cpu_seconds(web) - cpu, _cpu_seconds(web)
            with PeakRss(web) as rss:
                answer, seconds = _retrieve(client, unique_id)
            rss_out, got = max(rss_out, rss.peak_per_process), [*got, seconds]
            cpu_out += _cpu_seconds(web) - cpu
            if answer.parts != [(size, sha1)]:
                raise RuntimeError(f"ITI-43 gave back {answer.parts}, not ({size}, {sha1})")
    name = f"repository, one {size // MB:,} MB document" + (" on S3" if store == "S3" else "")
    up, down = size / statistics.median(sent) / 1e6, size / statistics.median(got) / 1e6
    peak = max(rss_in, rss_out) / MB
    note = f"{rounds} rounds, median; SHA-1 of the retrieved bytes checked"
    return [
        Row(name, "ITI-41 provide", up, "MB/s", f"{note}; {_goal(up >= GOAL_MB_S)} >= {GOAL_MB_S} MB/s"),
        Row(name, "ITI-43 retrieve", down, "MB/s", f"{_goal(down >= GOAL_MB_S)} >= {GOAL_MB_S} MB/s"),
        Row(name, "peak RSS of a web worker, ITI-41", rss_in / MB, "MiB", f"largest gunicorn process; "
            f"{_goal(peak < GOAL_RSS_MIB)} < {GOAL_RSS_MIB} MiB (both ways)"),
        Row(name, "peak RSS of a web worker, ITI-43", rss_out / MB, "MiB"),
        Row(name, "web CPU per GB, ITI-41", cpu_in / (rounds * size / 1e9), "s",
            "user + system of the gunicorn processes; steadier than MB/s on a shared machine"),
        Row(name, "web CPU per GB, ITI-43", cpu_out / (rounds * size / 1e9), "s"),
    ]


def _cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its children (gunicorn and its workers)."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _warm_up(node: Node) -> None:
    """A few small round trips, so that neither worker's first request (imports, schemas) is timed."""
    with _client(node, timeout=120) as client:
        for number in range(6):
            unique_id, _, _ = _provide(client, 64 * 1024, seed=number)
            _retrieve(client, unique_id)


def _client(node: Node, *, timeout: float) -> httpx.Client:
    """A client that sends each chunk at once: with Nagle's algorithm the small MTOM tail after a
    large chunk waits for the server's delayed ACK, some 40 ms a request."""
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(base_url=node.url, timeout=timeout, transport=transport)


def _goal(met: bool) -> str:
    return "meets" if met else "MISSES"


@dataclass(frozen=True)
class _Provide:
    """An ITI-41 request around one document: the MTOM body before and after its bytes."""

    unique_id: str
    content_type: str
    head: bytes
    tail: bytes


def _provide_request() -> _Provide:
    from tests.repository.provide import document_unique_ids, envelope, provide_body, text_submission

    submit = text_submission()
    body, [placeholder] = provide_body(submit, {"Document01": b""})
    boundary, root_cid = f"MIMEBoundary_{uuid.uuid4().hex}", f"root.{uuid.uuid4().hex}@hospa"
    head = (f"--{boundary}\r\nContent-Type: application/xop+xml; charset=UTF-8; "
            f'type="application/soap+xml"\r\nContent-Transfer-Encoding: binary\r\n'
            f"Content-ID: <{root_cid}>\r\n\r\n").encode() + envelope(body) + (
        f"\r\n--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
        f"Content-ID: <{placeholder.content_id}>\r\n\r\n").encode()
    return _Provide(document_unique_ids(submit)["Document01"], content_type(boundary, root_cid), head,
                    f"\r\n--{boundary}--\r\n".encode())


@functools.cache
def _pool() -> bytes:
    return random.Random(1).randbytes(8 * MB + CHUNK)


def _random_bytes(size: int, seed: int) -> Iterator[bytes]:
    """`size` pseudo-random bytes in chunks: slices of one random pool at random offsets, cheap
    enough that the client takes little of the server's CPU and adds little to a small request."""
    rng, pool = random.Random(seed), _pool()
    left = size
    while left > 0:
        start = rng.randrange(8 * MB)
        chunk = pool[start:start + min(CHUNK, left)]
        left -= len(chunk)
        yield chunk


def _provide(client: httpx.Client, size: int, *, seed: int) -> tuple[str, str, float]:
    """POST an ITI-41 of a `size`-byte document, streamed; its uniqueId, SHA-1 and the seconds taken."""
    request = _provide_request()
    digest = hashlib.sha1(usedforsecurity=False)

    def body() -> Iterator[bytes]:
        yield request.head
        for chunk in _random_bytes(size, seed):
            digest.update(chunk)
            yield chunk
        yield request.tail

    length = len(request.head) + size + len(request.tail)
    started = time.perf_counter()
    response = client.post("/xds/repository", content=body(), headers={
        "Content-Type": request.content_type, "Content-Length": str(length)})
    seconds = time.perf_counter() - started
    if response.status_code != 200 or SUCCESS not in response.content:
        raise RuntimeError(f"ITI-41 refused: {response.status_code} {response.content[:2000]!r}")
    return request.unique_id, digest.hexdigest(), seconds


class _MtomDigest:
    """An MTOM answer read as it arrives: the root part kept, every other part only counted and
    hashed."""

    def __init__(self, header: str) -> None:
        _, params = parse_options_header(header)
        self.root = bytearray()
        self.parts: list[tuple[int, str]] = []
        self._index = -1
        self._digest = hashlib.sha1(usedforsecurity=False)
        self._size = 0
        self._parser = MultipartParser(params[b"boundary"], {
            "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end})

    def write(self, chunk: bytes) -> None:
        self._parser.write(chunk)

    def _begin(self) -> None:
        self._index += 1
        self._digest, self._size = hashlib.sha1(usedforsecurity=False), 0

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._index == 0:  # the SOAP envelope comes first
            self.root += data[start:end]
        else:
            self._digest.update(data[start:end])
            self._size += end - start

    def _end(self) -> None:
        if self._index:
            self.parts.append((self._size, self._digest.hexdigest()))


def _retrieve(client: httpx.Client, unique_id: str) -> tuple[_MtomDigest, float]:
    from tests.repository.provide import X, document_requests, envelope

    xml = envelope(document_requests(X + "RetrieveDocumentSetRequest",
                                     [(settings.REPOSITORY_UNIQUE_ID, unique_id)]), action=ITI43)
    return _stream(client, "/xds/repository", xml, ITI43)


def _stream(client: httpx.Client, path: str, xml: bytes, action: str) -> tuple[_MtomDigest, float]:
    started = time.perf_counter()
    with client.stream("POST", path, content=xml, headers={
            "Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}) as response:
        if response.status_code != 200 or not response.headers["content-type"].startswith("multipart/"):
            raise RuntimeError(f"{action} failed: {response.status_code} {response.read()[:2000]!r}")
        answer = _MtomDigest(response.headers["content-type"])
        for chunk in response.iter_bytes():
            answer.write(chunk)
    seconds = time.perf_counter() - started
    if SUCCESS not in answer.root:
        raise RuntimeError(f"{action} did not succeed: {bytes(answer.root[:2000])!r}")
    return answer, seconds


# ITI-41 submissions per second

def _submissions(node: Node) -> list[Row]:
    document = random.Random(3).randbytes(MB)
    local = threading.local()

    def provide(_: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=node.url, timeout=120)
        request = _provide_request()
        response = client.post("/xds/repository", content=request.head + document + request.tail,
                               headers={"Content-Type": request.content_type})
        if response.status_code != 200 or SUCCESS not in response.content:
            raise RuntimeError(f"ITI-41 refused: {response.status_code} {response.content[:2000]!r}")

    for number in range(10):  # warm up
        provide(number)
    started = time.perf_counter()
    for number in range(SUBMISSIONS):
        provide(number)
    one = time.perf_counter() - started
    with ThreadPoolExecutor(CLIENTS) as pool:
        started = time.perf_counter()
        list(pool.map(provide, range(SUBMISSIONS)))
        many = time.perf_counter() - started
    name = "ITI-41 provide and register (one 1 MB document)"
    return [
        Row(name, "sequential", SUBMISSIONS / one, "submissions/s", f"{SUBMISSIONS} submissions, SQLite"),
        Row(name, f"{CLIENTS} concurrent clients", SUBMISSIONS / many, "submissions/s",
            f"{SUBMISSIONS} submissions, gunicorn 2 workers x 8 threads"),
    ]


# RAD-69 of a whole study

def _rad69(node: Node, base: Path) -> list[Row]:
    import pytest
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    from registry.ebrim.read import set_slot
    from tests.imaging.kos_factory import kos_build
    from tests.imaging.test_rad69 import request_xml
    from tests.imaging.test_retrieve import a_study, upload
    from tests.registry.submissions import R
    from tests.repository.provide import provide_request
    from tests.repository.test_rad68 import nist_submission
    from tests.servers.orthanc import start_orthanc

    name = f"RAD-69 of a {INSTANCES}-instance CT study"
    try:
        orthanc = start_orthanc(base / "orthanc", ae_title="HOSPA_PACS",
                                extra_config={"DicomAlwaysAllowGet": True})
    except pytest.skip.Exception as skipped:
        return [Row(name, "not run", 0, "", str(skipped))]
    try:
        study = a_study(INSTANCES, implicit=INSTANCES // 3)
        started = time.perf_counter()
        held = upload(orthanc, study)
        uploaded = time.perf_counter() - started
        _manage(node, "shell", "-c", (
            "from imaging.models import DicomNode\n"
            "from organisations.services import organisation_create\n"
            "DicomNode.objects.create(organisation=organisation_create(code='hospa', name='Hospital A'), "
            f"ae_title={orthanc.ae_title!r}, host='127.0.0.1', port={orthanc.dicom_port}, "
            f"retrieve_location_uid={PACS_LOCATION!r})\n"))
        study_uid, series_uid = str(study[0].StudyInstanceUID), str(study[0].SeriesInstanceUID)
        manifest = kos_build(patient_id="A123", issuer=HOSPITAL_A, studies=[(study_uid, "ACC0001", [
            (series_uid, "CT", orthanc.ae_title, PACS_LOCATION,
             [(str(ds.SOPClassUID), str(ds.SOPInstanceUID)) for ds in study])])])
        root = nist_submission()
        document = root.find(f"{R}RegistryObjectList/{R}ExtrinsicObject")
        assert document is not None
        set_slot(document, "sourcePatientId", f"A123^^^&{HOSPITAL_A}&ISO")
        set_slot(document, "urn:ihe:iti:xds:2013:referenceIdList",
                 f"{study_uid}^^^^urn:ihe:iti:xds:2016:studyInstanceUID")
        request = provide_request(root, {"Document01": manifest})
        with httpx.Client(base_url=node.url, timeout=600) as client:
            published = client.post("/xds/repository", content=request.body,
                                    headers={"Content-Type": request.content_type})
            if SUCCESS not in published.content:
                raise RuntimeError(f"RAD-68 refused: {published.content[:2000]!r}")
            xml = request_xml(study, list(held), [ExplicitVRLittleEndian, ImplicitVRLittleEndian],
                              repository=PACS_LOCATION)
            took: list[float] = []
            peak = size = 0
            for _ in range(RAD69_ROUNDS):
                with PeakRss(node.processes["web"].pid) as rss:
                    answer, seconds = _stream(client, "/xds/imaging", xml, RAD69)
                peak, took = max(peak, rss.peak_per_process), [*took, seconds]
                if len(answer.parts) != INSTANCES:
                    raise RuntimeError(f"RAD-69 gave {len(answer.parts)} instances, not {INSTANCES}")
                size = sum(s for s, _ in answer.parts)
    finally:
        orthanc.stop()
    median = statistics.median(took)
    return [
        Row(name, "instances", INSTANCES / median, "instances/s",
            f"{RAD69_ROUNDS} rounds, median {median:.2f} s; C-GET from Orthanc, MTOM answer of "
            f"{size / 1e3:,.0f} kB"),
        Row(name, "peak RSS of a web worker", peak / MB, "MiB",
            f"upload to Orthanc took {uploaded:.1f} s (not counted)"),
    ]
