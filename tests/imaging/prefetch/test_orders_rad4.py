"""Orders over HL7 v2 as the MLLP listener dispatches them (RAD TF-2 4.4): hospital B's new order
prefetches the patient's relevant priors from hospital A, a cancel stops them, and what cannot
be acted on is answered AE or AR with an ERR segment."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.models import AuditEvent
from config.routes import HL7V2_ROUTES
from imaging.prefetch.models import PrefetchJob, PrefetchStudy, RelevantPriorRule
from mllp.dispatch import Router
from tests.empi.messages import field
from tests.imaging.prefetch.orders import omi, orm
from tests.imaging.prefetch.sites import (  # noqa: F401
    Patient,
    Sites,
    a_study,
    patient_at_a_and_b,
    publish,
    site_pacs,
    sites,
)


@pytest.fixture
def router(monkeypatch: pytest.MonkeyPatch) -> Router:
    # The listener closes stale connections around each message; the test's transaction is not one.
    monkeypatch.setattr("mllp.dispatch.close_old_connections", lambda: None)
    return Router(HL7V2_ROUTES)


@pytest.fixture
def jane(sites: Sites, tmp_path: Path) -> tuple[Patient, list[str]]:  # noqa: F811
    """Jane at A and B; hospital A published a recent chest CT, an older CT and a knee MR."""
    patient = patient_at_a_and_b(sites)
    studies = [a_study(patient.a_mrn, study_date="20250301"), a_study(patient.a_mrn, study_date="20190101"),
               a_study(patient.a_mrn, study_date="20250401", modality="MR", description="MR KNEE")]
    for study in studies:
        publish(sites, patient, study, tmp_path)
    return patient, [str(s[0].StudyInstanceUID) for s in studies]


def test_an_orm_from_b_creates_a_stat_job_with_the_relevant_priors(
        sites: Sites, router: Router, jane: tuple[Patient, list[str]]) -> None:  # noqa: F811
    patient, (recent_ct, _old_ct, _knee_mr) = jane
    RelevantPriorRule.objects.create(name="CT priors for CT at B", ordering_organisation=sites.hospital_b,
                                     order_modalities="CT", prior_modalities="CT", max_priors=1,
                                     lookback_days=3650)

    reply = router.respond(orm(mrn=patient.b_mrn, priority="S", accession="ACC-B-1")).payload

    assert (field(reply, "MSA", 1), field(reply, "MSA", 2)) == ("AA", "ORM1")
    assert field(reply, "MSH", 9) == "ACK^O01^ACK"
    job = PrefetchJob.objects.get()
    assert (job.organisation, job.destination, job.trigger, job.priority) == (
        sites.hospital_b, sites.b_pacs, PrefetchJob.ORDER, PrefetchJob.STAT)
    assert (job.patient_authority, job.patient_identifier, job.enterprise_id) == (
        sites.b_mrns, patient.b_mrn, patient.enterprise_id)
    assert (job.order_reference, job.order_modality, job.requested_by) == ("ACC-B-1", "CT", "HOSPB_RIS|HOSPB")
    assert [s.study_instance_uid for s in job.studies.all()] == [recent_ct]
    assert job.studies.get().source == sites.a_pacs
    assert AuditEvent.objects.filter(transaction="ITI-18", outcome=0).exists()


def test_an_omi_takes_its_modality_from_ipc_and_its_priority_from_tq1(
        sites: Sites, router: Router, jane: tuple[Patient, list[str]]) -> None:  # noqa: F811
    patient, (_recent_ct, _old_ct, knee_mr) = jane
    RelevantPriorRule.objects.create(name="MR for MR", order_modalities="MR", prior_modalities="MR")

    reply = router.respond(omi(mrn=patient.b_mrn, priority="S", accession="ACC-B-2")).payload

    assert field(reply, "MSA", 1) == "AA"
    job = PrefetchJob.objects.get()
    assert (job.priority, job.order_modality, job.order_reference) == (PrefetchJob.STAT, "MR", "ACC-B-2")
    assert [s.study_instance_uid for s in job.studies.all()] == [knee_mr]


def test_a_routine_order_without_rules_brings_every_prior(
        sites: Sites, router: Router, jane: tuple[Patient, list[str]]) -> None:  # noqa: F811
    patient, uids = jane

    assert field(router.respond(orm(mrn=patient.b_mrn)).payload, "MSA", 1) == "AA"

    job = PrefetchJob.objects.get()
    assert job.priority == PrefetchJob.ROUTINE
    assert {s.study_instance_uid for s in job.studies.all()} == set(uids)


def test_a_cancel_stops_the_orders_unfinished_job(
        sites: Sites, router: Router, jane: tuple[Patient, list[str]]) -> None:  # noqa: F811
    patient, _ = jane
    router.respond(orm(mrn=patient.b_mrn, accession="ACC-B-3"))
    router.respond(orm(mrn=patient.b_mrn, control="CA", accession="ACC-B-OTHER", control_id="ORM2"))
    assert PrefetchJob.objects.get().status == PrefetchJob.QUEUED

    reply = router.respond(orm(mrn=patient.b_mrn, control="CA", accession="ACC-B-3",
                               control_id="ORM3")).payload

    assert field(reply, "MSA", 1) == "AA"
    cancelled = PrefetchJob.objects.get(order_reference="ACC-B-3")
    assert cancelled.status == PrefetchJob.CANCELLED
    assert set(cancelled.studies.values_list("status", flat=True)) == {PrefetchStudy.CANCELLED}


def test_an_unknown_mrn_is_answered_ae_with_err_at_pid_3(sites: Sites, router: Router) -> None:  # noqa: F811
    reply = router.respond(orm(mrn="B-NOBODY")).payload

    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 2) == "PID^1^3^1^1"
    assert field(reply, "ERR", 3).startswith("204^")
    assert not PrefetchJob.objects.exists()
    assert AuditEvent.objects.filter(transaction="ITI-18", outcome=4).exists()


def test_an_unknown_assigning_authority_is_answered_ae(sites: Sites, router: Router) -> None:  # noqa: F811
    reply = router.respond(orm(mrn="B1", authority="HOSPX&1.2.3.4.5.6&ISO")).payload

    assert (field(reply, "MSA", 1), field(reply, "ERR", 2)) == ("AE", "PID^1^3^1^4")
    assert field(reply, "ERR", 3).startswith("204^")


def test_over_tls_hospital_b_orders_for_its_own_mrn_and_not_for_hospital_as(
        sites: Sites, router: Router, jane: tuple[Patient, list[str]]) -> None:  # noqa: F811
    """The TLS listener hands the router the certificate's organisation (ITI TF-2 3.19): B's RIS
    may order under B's MRNs, or the enterprise ID beside them, but an order under A's MRN would
    move A's patient's studies to B's PACS."""
    patient, _ = jane
    a_cx4 = f"{sites.a_mrns.namespace_id}&{sites.a_mrns.universal_id}&ISO"
    affinity = sites.affinity
    both = (f"{patient.b_mrn}^^^HOSPB&1.3.6.1.4.1.21367.13.20.2000&ISO~{patient.enterprise_id}^^^"
            f"{affinity.namespace_id}&{affinity.universal_id}&ISO")

    theirs = router.respond(orm(mrn=patient.a_mrn, authority=a_cx4, control_id="X1"),
                            organisation=sites.hospital_b.code).payload
    own = router.respond(orm(mrn=patient.b_mrn, accession="ACC-OWN", control_id="X2"),
                         organisation=sites.hospital_b.code).payload
    with_enterprise_id = router.respond(
        orm(mrn=both.split("^^^", 1)[0], authority=both.split("^^^", 1)[1], accession="ACC-EID",
            control_id="X3"), organisation=sites.hospital_b.code).payload

    assert (field(theirs, "MSA", 1), field(theirs, "ERR", 2)) == ("AE", "PID^1^3^1^4")
    assert field(theirs, "ERR", 3).startswith("204^")
    assert (field(own, "MSA", 1), field(with_enterprise_id, "MSA", 1)) == ("AA", "AA")
    assert sorted(PrefetchJob.objects.values_list("order_reference", flat=True)) == ["ACC-EID", "ACC-OWN"]
    alert = AuditEvent.objects.get(event_id="110113", organisation=sites.hospital_b.code)
    assert "RAD-4 from organisation" in str(alert.record) and "another organisation" in str(alert.record)


def test_an_order_from_a_site_without_a_destination_pacs_is_answered_ae(
        sites: Sites, router: Router, jane: tuple[Patient, list[str]]) -> None:  # noqa: F811
    patient, _ = jane
    sites.b_pacs.is_destination = False
    sites.b_pacs.save()

    reply = router.respond(orm(mrn=patient.b_mrn)).payload

    assert field(reply, "MSA", 1) == "AE"
    assert field(reply, "ERR", 3).startswith("207^")
    assert "move destination" in field(reply, "ERR", 8)
    assert not PrefetchJob.objects.exists()


def test_an_order_without_its_orc_segment_is_rejected(sites: Sites, router: Router) -> None:  # noqa: F811
    reply = router.respond(orm(mrn="B1", without=("ORC",))).payload

    assert (field(reply, "MSA", 1), field(reply, "ERR", 2)) == ("AR", "ORC")
    assert field(reply, "ERR", 3).startswith("100^")
