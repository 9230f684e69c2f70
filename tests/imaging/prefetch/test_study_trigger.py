"""A study arriving at the node's storage SCP from a site's PACS prefetches the patient's priors
into that site's PACS: the SCP enqueues the task and answers at once; the task finds the priors,
leaves the arriving study out, applies the site's rules and creates the job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from imaging.dicom import handlers
from imaging.dicom.server import start_server
from imaging.prefetch.models import PrefetchJob, RelevantPriorRule
from imaging.prefetch.triggers import study_arrived
from tests.imaging.prefetch.sites import (  # noqa: F401
    Patient,
    Sites,
    a_study,
    patient_at_a_and_b,
    publish,
    site_pacs,
    sites,
)
from tests.servers.process import free_port


class Enqueued:
    """The task's queue as the SCP sees it: what it was asked to run, to run it here."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def delay(self, *args: Any) -> None:
        self.calls.append(args)


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> Enqueued:
    queue = Enqueued()
    monkeypatch.setattr(handlers, "study_arrived", queue)
    return queue


@pytest.fixture
def listener(settings: Any, tmp_path: Path) -> Iterator[int]:
    """The node's storage SCP in this process, on a free port."""
    settings.DICOM_STORAGE_DIR = tmp_path / "incoming"
    port = free_port()
    server = start_server(host="127.0.0.1", port=port)
    yield port
    server.ae.shutdown()


def send(port: int, instances: list[Dataset], *, calling_ae: str = "HOSPB_PACS",
         move_originator: str | None = None) -> list[int]:
    """C-STOREs from `calling_ae`, as a site's PACS forwards a new study; their statuses."""
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="HIENODE")
    assert assoc.is_established
    try:
        return [int(assoc.send_c_store(ds, originator_aet=move_originator,
                                       originator_id=1 if move_originator else None).Status)
                for ds in instances]
    finally:
        assoc.release()


@pytest.fixture
def jane(sites: Sites, tmp_path: Path) -> tuple[Patient, str]:  # noqa: F811
    """Jane at A and B, with a chest CT hospital A published."""
    patient = patient_at_a_and_b(sites)
    prior = a_study(patient.a_mrn, study_date="20240601")
    publish(sites, patient, prior, tmp_path)
    return patient, str(prior[0].StudyInstanceUID)


def test_an_instance_arriving_from_bs_pacs_creates_a_job_for_bs_priors(
        sites: Sites, listener: int, enqueued: Enqueued, jane: tuple[Patient, str]) -> None:  # noqa: F811
    patient, prior_uid = jane
    RelevantPriorRule.objects.create(name="CT for CT", order_modalities="CT", prior_modalities="CT")
    new = a_study(patient.b_mrn, issuer="HOSPB", count=3, study_date="20250601")

    assert send(listener, new) == [0x0000] * 3

    assert enqueued.calls == [("HOSPB_PACS", patient.b_mrn, "HOSPB", str(new[0].StudyInstanceUID), "CT",
                               str(new[0].AccessionNumber))]
    job_id = study_arrived(*enqueued.calls[0])
    assert job_id is not None
    job = PrefetchJob.objects.get(pk=job_id)
    assert (job.organisation, job.destination, job.trigger, job.priority) == (
        sites.hospital_b, sites.b_pacs, PrefetchJob.STUDY, PrefetchJob.ROUTINE)
    assert (job.patient_authority, job.patient_identifier, job.order_modality, job.requested_by) == (
        sites.b_mrns, patient.b_mrn, "CT", "HOSPB_PACS")
    assert [s.study_instance_uid for s in job.studies.all()] == [prior_uid]


def test_the_same_study_arriving_again_makes_no_second_job(
        sites: Sites, enqueued: Enqueued, jane: tuple[Patient, str]) -> None:  # noqa: F811
    patient, _ = jane
    arrived = ("HOSPB_PACS", patient.b_mrn, "HOSPB", "1.2.3.4.5.6.7", "CT", "ACC9")

    assert study_arrived(*arrived) is not None
    assert study_arrived(*arrived) is None
    assert PrefetchJob.objects.count() == 1


def test_the_arriving_study_is_not_its_own_prior(
        sites: Sites, tmp_path: Path, jane: tuple[Patient, str]) -> None:  # noqa: F811
    patient, prior_uid = jane

    assert study_arrived("HOSPB_PACS", patient.b_mrn, "HOSPB", prior_uid, "CT") is None
    assert not PrefetchJob.objects.exists()


def test_a_study_from_an_ae_title_of_no_site_starts_nothing(
        sites: Sites, jane: tuple[Patient, str]) -> None:  # noqa: F811
    patient, _ = jane

    assert study_arrived("SOMEONE", patient.b_mrn, "HOSPB", "1.2.3.4.5.6.8", "CT") is None
    assert study_arrived("HOSPB_PACS", patient.a_mrn, "HOSPA", "1.2.3.4.5.6.9", "CT") is None
    assert not PrefetchJob.objects.exists()


def test_instances_a_c_move_sends_and_further_instances_of_a_study_enqueue_nothing(
        sites: Sites, listener: int, enqueued: Enqueued) -> None:  # noqa: F811
    moved, forwarded = a_study("B1", issuer="HOSPB"), a_study("B1", issuer="HOSPB", count=3)

    assert send(listener, moved, move_originator="HOSPA_PACS") == [0x0000] * 2
    assert send(listener, forwarded) == [0x0000] * 3
    assert send(listener, forwarded[:1]) == [0x0000]

    assert [call[3] for call in enqueued.calls] == [str(forwarded[0].StudyInstanceUID)]
