"""Prefetch of outside priors: C-MOVE between two real PACSs, ordered by dcmtk and by the node.

`run()` migrates a fresh SQLite database in a child process, runs `bootstrap_demo` there
(hospitals A and B), and measures in a second child whose settings point at that database. It
starts hospital A's and hospital B's PACSs (two Orthancs with TCP_NODELAY, each knowing the other
and the node as DICOM modalities) and the node's `mllp` and `worker` processes, then:

1. One study of BENCH_PREFETCH_INSTANCES (default 300) CT slices of about 512 KB, stored at A
   once, is moved from A to B BENCH_PREFETCH_ROUNDS times (default 3) each way, the ways taking
   turns, B's copy deleted between moves:
   - dcmtk's `movescu` orders A to move it to B, timed until it exits and B's REST API counts
     every instance;
   - a PrefetchJob made by `services.job_create` and run by `engine.job_run` in this process
     (as the tests run it), timed from creating the job to its end, the engine's C-FIND counts
     at B before and after included;
   - the same job sent to the node's `worker` (Celery, the SQLAlchemy broker on SQLite, the
     Procfile's concurrency), timed until the job row says done.
2. An ORM^O01 from hospital B over MLLP for a patient both hospitals fed (ITI-8 A04), whose
   prior of ORDER_INSTANCES slices hospital A's PACS finds by C-FIND: the time from sending
   the order to B's PACS holding every instance of the prior.
3. CONCURRENT_JOBS jobs of as many patients, one JOB_INSTANCES-slice study each, created at once
   and run by the `worker`: the total time, and each job's time from its row's creation to its end.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bench.table import Row

ROOT = Path(__file__).resolve().parents[1]
NAME = "Prefetch"
INSTANCES = int(os.environ.get("BENCH_PREFETCH_INSTANCES", "300"))
ROUNDS = int(os.environ.get("BENCH_PREFETCH_ROUNDS", "3"))
ORDER_INSTANCES = 30
CONCURRENT_JOBS, JOB_INSTANCES = 20, 10
GOAL_RATIO = 0.9
MEASURE = "--measure"
POLL = 0.02  # seconds between two looks at a job row or at B's PACS
TIMEOUT = 600.0


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-prefetch-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
               "DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}", "VAR_DIR": str(base / "var"),
               # This process's on-commit kicks go nowhere; jobs for the worker go to its broker.
               "CELERY_BROKER_URL": "memory://", "LOG_LEVEL": "WARNING"}
        for args in (["migrate", "--verbosity", "0"], ["bootstrap_demo"]):
            _child([sys.executable, "manage.py", *args], env)
        figures = json.loads(_child([sys.executable, "-m", "bench.bench_prefetch", MEASURE, tmp],
                                    env).strip().splitlines()[-1])
    return _rows(figures)


def _child(args: list[str], env: dict[str, str]) -> str:
    child = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800,
                           check=False)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(args[1:3])} failed:\n{child.stderr[-6000:]}")
    return child.stdout


def _rows(f: dict[str, Any]) -> list[Row]:
    mb = f["study_bytes"] / 1e6
    count = f["study_instances"]
    what = f"{count} CT slices of {f['study_bytes'] / count / 1024:.0f} KiB, A to B"
    movescu = statistics.median(f["movescu"])
    rows = []
    for key, label in (("movescu", "dcmtk movescu"), ("in_process", "node, engine in-process"),
                       ("worker", "node, worker process")):
        seconds = statistics.median(f[key])
        runs = ", ".join(f"{s:.2f}" for s in f[key])
        rows += [Row(f"{NAME} C-MOVE", f"{label}: throughput", mb / seconds, "MB/s",
                     f"{what}; median of {len(f[key])} runs ({runs} s)"),
                 Row(f"{NAME} C-MOVE", f"{label}: instances", count / seconds, "instances/s")]
        if key == "worker":
            rows.append(Row(f"{NAME} C-MOVE", f"{label}: queued to claimed", statistics.median(
                f["worker_wait_s"]), "s", "job row created to its move claimed by the worker, median"))
        if key != "movescu":
            ratio = movescu / seconds
            met = "meets" if ratio >= GOAL_RATIO else "misses"
            rows.append(Row(f"{NAME} C-MOVE", f"{label} / movescu", ratio, "x",
                            f"throughput, medians; {met} the goal >= {GOAL_RATIO}x"))
    order = f["order"]
    rows += [
        Row(f"{NAME} ORM", "ORM^O01 to ACK", order["ack_s"] * 1000, "ms",
            "PIX, C-FIND at A and at B, job created, in the mllp process"),
        Row(f"{NAME} ORM", "ORM^O01 to the first prior at B", order["prior_s"], "s",
            f"{order['instances']} CT slices of 512 KiB, moved by the worker; all of them at B"),
    ]
    jobs = f["concurrent"]
    p50, p95 = _percentiles(jobs["job_s"])
    note = (f"{len(jobs['job_s'])} jobs of {jobs['instances']} CT slices of 512 KiB; worker concurrency "
            f"{jobs['concurrency']}, source max_associations {jobs['max_associations']}")
    moving = [run for _, run in jobs["phases"]]
    many = f"{NAME} {len(jobs['job_s'])} jobs"
    rows += [
        Row(many, "all done", jobs["total_s"], "s", note),
        Row(many, "per job p50", p50, "s", "job row created to done"),
        Row(many, "per job p95", p95, "s"),
        Row(many, "per job run p50", statistics.median(moving), "s",
            f"move claimed to job done; max {max(moving):.2f} s"),
        Row(many, "moves at once, mean", sum(moving) / jobs["total_s"], "moves",
            "sum of the jobs' runs over the total time"),
    ]
    return rows


def _percentiles(values: Sequence[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def _wait(condition: Callable[[], bool], *, what: str, log: Callable[[], str] | None = None) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {TIMEOUT:.0f} s" + (f"\n{log()[-4000:]}" if log else ""))
        time.sleep(POLL)


# In the child process: Django set up on the temporary database.

@dataclass
class Exchange:
    """The node's view of the two hospitals, and their running PACSs."""

    a: Any  # OrthancServer: hospital A's PACS, the source
    b: Any  # OrthancServer: hospital B's PACS, the destination
    hospital_b: Any  # Organisation
    b_mrns: Any  # AssigningAuthority
    a_pacs: Any  # DicomNode
    b_pacs: Any  # DicomNode
    broker: str  # the node's broker, which its worker reads


def measure(base: Path) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings

    from imaging.models import DicomNode
    from organisations.models import AssigningAuthority, Organisation
    from tests.servers.node import Node
    from tests.servers.orthanc import start_orthanc
    from tests.servers.process import free_port

    broker = f"sqla+sqlite:///{base / 'broker.sqlite3'}"
    node = Node(base=base / "node", env={"DATABASE_URL": os.environ["DATABASE_URL"],
                                         "CELERY_BROKER_URL": broker, "LOG_LEVEL": "WARNING"})
    node.base.mkdir()
    a_ports, b_ports = (free_port(), free_port()), (free_port(), free_port())
    me = (settings.DICOM_AE_TITLE, "127.0.0.1", node.dicom_port)
    allow: dict[str, object] = {"DicomAlwaysAllowFind": True, "DicomAlwaysAllowMove": True}
    b = start_orthanc(base / "pacs-b", ae_title="HOSPB_PACS", ports=b_ports, extra_config=allow,
                      modalities={"HOSPA": ("HOSPA_PACS", "127.0.0.1", a_ports[1]), "HIENODE": me})
    a = start_orthanc(base / "pacs-a", ae_title="HOSPA_PACS", ports=a_ports, extra_config=allow,
                      modalities={"HOSPB": ("HOSPB_PACS", "127.0.0.1", b_ports[1]), "HIENODE": me})
    try:
        a_mrns = AssigningAuthority.objects.get(namespace_id="HOSPA")
        b_mrns = AssigningAuthority.objects.get(namespace_id="HOSPB")
        hospital_a = cast(Organisation, a_mrns.organisation)
        hospital_b = cast(Organisation, b_mrns.organisation)
        a_pacs = DicomNode.objects.create(
            organisation=hospital_a, ae_title="HOSPA_PACS", host="127.0.0.1", port=a.dicom_port,
            retrieve_method=DicomNode.RETRIEVE_C_MOVE)
        b_pacs = DicomNode.objects.create(
            organisation=hospital_b, ae_title="HOSPB_PACS", host="127.0.0.1", port=b.dicom_port,
            is_source=False, is_destination=True)
        exchange = Exchange(a=a, b=b, hospital_b=hospital_b, b_mrns=b_mrns, a_pacs=a_pacs,
                            b_pacs=b_pacs, broker=broker)
        node.start("mllp", "worker")
        figures = _moves(exchange, node)
        figures["order"] = _order(exchange, node)
        figures["concurrent"] = _concurrent(exchange, node)
    finally:
        node.stop()
        a.stop()
        b.stop()
    return figures


def _job(exchange: Exchange, study: Any, identifier: str) -> Any:
    """The radiologist at hospital B asks for one prior of a patient at hospital A."""
    from imaging.prefetch import services
    from imaging.prefetch.models import PrefetchJob
    from imaging.prefetch.types import PriorStudy

    prior = PriorStudy(study_instance_uid=study.study_instance_uid, study_date="20240102",
                       modalities=("CT",), description="CT CHEST", body_part="CHEST",
                       site_id=exchange.a_pacs.organisation_id, site_name="Hospital A",
                       source_id=exchange.a_pacs.pk, instances=study.instances)
    return services.job_create(
        organisation=exchange.hospital_b, destination=exchange.b_pacs, patient_authority=exchange.b_mrns,
        patient_identifier=identifier, enterprise_id=f"E{identifier}^^^&1.3.6.1.4.1.21367.2005.3.7&ISO",
        studies=[prior], trigger=PrefetchJob.RADIOLOGIST, priority=PrefetchJob.ROUTINE,
        requested_by="radiologist")


def _to_worker(exchange: Exchange, job_ids: Sequence[int]) -> None:
    """The jobs' messages on the worker's broker, as job_create's on-commit hook sends them."""
    from config.celery import app
    from imaging.prefetch import tasks

    with app.connection_for_write(exchange.broker) as connection:
        for job_id in job_ids:
            tasks.run_job.apply_async(args=(job_id,), connection=connection)  # type: ignore[call-arg]


def _done(job_ids: Sequence[int]) -> bool:
    from imaging.prefetch.models import PrefetchJob

    statuses = list(PrefetchJob.objects.filter(pk__in=job_ids).values_list("status", flat=True))
    if any(s in PrefetchJob.FINISHED and s != PrefetchJob.DONE for s in statuses):
        raise RuntimeError(f"a job ended {statuses}")
    return statuses.count(PrefetchJob.DONE) == len(job_ids)


def _phases(job_ids: Sequence[int]) -> list[tuple[float, float]]:
    """Each job's wait (its row created to its study's move claimed) and run (claimed to done)."""
    from imaging.prefetch.models import PrefetchStudy

    rows = PrefetchStudy.objects.filter(job_id__in=job_ids).values_list(
        "job__created_at", "started_at", "job__finished_at")
    return [((started - created).total_seconds(), (done - started).total_seconds())
            for created, started, done in rows if started and done]


def _moves(exchange: Exchange, node: Any) -> dict[str, Any]:
    from django.conf import settings

    from bench.prefetch_data import held, study_delete, study_store
    from imaging.prefetch import engine, tasks
    from tests.servers.process import require_dcmtk

    movescu = require_dcmtk("movescu")
    worker_log = node.processes["worker"].output
    study = study_store(exchange.a, count=INSTANCES, patient_id="A-MOVE1", issuer="HOSPA", seed=1)
    uid = study.study_instance_uid

    def by_movescu() -> None:
        args = [movescu, "-S", "-aet", settings.DICOM_AE_TITLE, "-aec", "HOSPA_PACS", "-aem", "HOSPB_PACS",
                "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={uid}", "127.0.0.1",
                str(exchange.a.dicom_port)]
        child = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if child.returncode != 0:
            raise RuntimeError(f"movescu failed:\n{child.stdout}\n{child.stderr}")

    def in_process() -> None:
        job = _job(exchange, study, "B-MOVE1")
        engine.job_run(job_id=job.pk, dicom=tasks.DICOM, calling_ae=settings.DICOM_AE_TITLE)
        if not _done([job.pk]):
            raise RuntimeError(f"the in-process job {job.pk} did not end done")

    worker_jobs: list[int] = []

    def by_worker() -> None:
        job = _job(exchange, study, "B-MOVE1")
        _to_worker(exchange, [job.pk])
        _wait(lambda: _done([job.pk]), what="the worker did not finish the job", log=worker_log)
        worker_jobs.append(job.pk)

    # One small study each way first: the worker's and this process's first job import and connect.
    warm = study_store(exchange.a, count=1, patient_id="A-WARM", issuer="HOSPA", seed=0)
    job = _job(exchange, warm, "B-WARM1")
    _to_worker(exchange, [job.pk])
    _wait(lambda: _done([job.pk]), what="the warm-up job did not finish", log=worker_log)
    study_delete(exchange.b, warm.study_instance_uid)
    engine.job_run(job_id=_job(exchange, warm, "B-WARM2").pk, dicom=tasks.DICOM,
                   calling_ae=settings.DICOM_AE_TITLE)
    study_delete(exchange.b, warm.study_instance_uid)
    ways = {"movescu": by_movescu, "in_process": in_process, "worker": by_worker}
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, way in ways.items():
            study_delete(exchange.b, uid)
            start = time.perf_counter()
            way()
            at_b = held(exchange.b, uid)
            seconds[name].append(time.perf_counter() - start)
            if at_b != study.instances:
                raise RuntimeError(f"{name}: {at_b} of {study.instances} instances at B")
            print(f"{name}: {seconds[name][-1]:.2f} s", file=sys.stderr)
    study_delete(exchange.b, uid)
    return {"study_instances": study.instances, "study_bytes": study.bytes, **seconds,
            "worker_wait_s": [wait for wait, _ in _phases(worker_jobs)]}


def _order(exchange: Exchange, node: Any) -> dict[str, Any]:
    from bench.prefetch_data import held, study_store
    from imaging.prefetch.models import PrefetchJob
    from tests.empi.conftest import HOSPITAL_A_CX4, HOSPITAL_B_CX4
    from tests.empi.messages import adt, field
    from tests.imaging.prefetch.orders import orm
    from tests.mllp.client import connect
    from tests.mllp.client import exchange as mllp_exchange

    prior = study_store(exchange.a, count=ORDER_INSTANCES, patient_id="A-ORDER1", issuer="HOSPA", seed=2)
    with connect(node.mllp_port, timeout=120) as sock:
        for mrn, cx4, sender in (("A-ORDER1", HOSPITAL_A_CX4, "HOSPA_HIS^HOSPA"),
                                 ("B-ORDER1", HOSPITAL_B_CX4, "HOSPB_HIS^HOSPB")):
            patient = (mrn, cx4, "ORDER^JANE", "19700101", "F", "1 Main Street^^Springfield^^12345",
                       "555-0100")
            reply = mllp_exchange(sock, adt("A04", patient, control=f"{mrn}A04", sender=sender))
            if field(reply, "MSA", 1) != "AA":
                raise RuntimeError(f"the A04 of {mrn} was not accepted: {reply!r}")
        start = time.perf_counter()
        reply = mllp_exchange(sock, orm(mrn="B-ORDER1", priority="S", accession="ACC-BENCH-1"))
        ack = time.perf_counter() - start
    made = PrefetchJob.objects.filter(order_reference="ACC-BENCH-1").exists()
    if field(reply, "MSA", 1) != "AA" or not made:
        raise RuntimeError(f"the order made no job: {reply!r}")
    _wait(lambda: held(exchange.b, prior.study_instance_uid) >= prior.instances,
          what="the prior did not arrive at B", log=node.processes["worker"].output)
    return {"ack_s": ack, "prior_s": time.perf_counter() - start, "instances": prior.instances}


def _concurrent(exchange: Exchange, node: Any) -> dict[str, Any]:
    from bench.prefetch_data import held, study_store
    from imaging.prefetch.models import PrefetchJob
    from tests.servers.node import procfile_commands

    studies = [study_store(exchange.a, count=JOB_INSTANCES, patient_id=f"A-MANY{n:02d}", issuer="HOSPA",
                           seed=100 + n) for n in range(CONCURRENT_JOBS)]
    start = time.perf_counter()
    job_ids = [_job(exchange, study, f"B-MANY{n:02d}").pk for n, study in enumerate(studies)]
    _to_worker(exchange, job_ids)
    _wait(lambda: _done(job_ids), what="the worker did not finish the jobs",
          log=node.processes["worker"].output)
    total = time.perf_counter() - start
    for study in studies:
        if held(exchange.b, study.study_instance_uid) != study.instances:
            raise RuntimeError(f"study {study.study_instance_uid} is not all at B")
    rows = PrefetchJob.objects.filter(pk__in=job_ids).values_list("created_at", "finished_at")
    command = procfile_commands()["worker"].split()
    return {"total_s": total, "job_s": [(done - created).total_seconds() for created, done in rows if done],
            "phases": _phases(job_ids), "instances": JOB_INSTANCES,
            "max_associations": exchange.a_pacs.max_associations,
            "concurrency": command[command.index("--concurrency") + 1]}


if __name__ == "__main__":
    if sys.argv[1:2] == [MEASURE]:
        print(json.dumps(measure(Path(sys.argv[2]))))
    else:
        sys.exit("usage: python -m bench bench_prefetch")
