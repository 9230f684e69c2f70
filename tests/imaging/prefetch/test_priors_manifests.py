"""Outside priors from the manifest index: hospital B's radiologist asks by B's MRN, and the studies
hospital A published by RAD-68 list, as long as their manifest is Approved."""

from __future__ import annotations

from pathlib import Path

from imaging.prefetch.priors import outside_priors, patient_identities
from registry import models as registry
from tests.imaging.prefetch.sites import (  # noqa: F401
    Sites,
    a_study,
    patient_at_a_and_b,
    publish,
    site_pacs,
    sites,
)


def test_a_patient_known_at_a_and_b_lists_as_study_from_the_manifest_index_when_b_asks(
        sites: Sites, tmp_path: Path) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    study = a_study(jane.a_mrn, count=3, study_date="20240102", description="CT CHEST")
    publish(sites, jane, study, tmp_path)

    (prior,) = outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn, organisation=sites.hospital_b)

    assert prior.study_instance_uid == study[0].StudyInstanceUID
    assert (prior.study_date, prior.modalities, prior.description) == ("20240102", ("CT",), "CT CHEST")
    assert prior.instances == 3
    assert (prior.site_id, prior.site_name, prior.source_id) == (
        sites.hospital_a.pk, "Hospital A", sites.a_pacs.pk)
    assert prior.already_here is False


def test_pix_gives_the_enterprise_id_and_every_linked_mrn(sites: Sites) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)

    found = patient_identities(authority=sites.b_mrns, identifier=jane.b_mrn)

    assert found is not None
    assert found.enterprise_id == jane.enterprise_id
    assert {(a.pk, mrn) for a, mrn in found.mrns} == {
        (sites.b_mrns.pk, jane.b_mrn), (sites.a_mrns.pk, jane.a_mrn)}


def test_priors_are_listed_newest_first(sites: Sites, tmp_path: Path) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    older, newer = a_study(jane.a_mrn, study_date="20200101"), a_study(jane.a_mrn, study_date="20230101")
    publish(sites, jane, older, tmp_path)
    publish(sites, jane, newer, tmp_path)

    found = outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn, organisation=sites.hospital_b)

    assert [p.study_date for p in found] == ["20230101", "20200101"]


def test_a_deprecated_manifests_study_does_not_list(sites: Sites, tmp_path: Path) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    kept, replaced = a_study(jane.a_mrn), a_study(jane.a_mrn)
    publish(sites, jane, kept, tmp_path)
    registry.DocumentEntry.objects.get(entry_uuid=publish(sites, jane, replaced, tmp_path)).deprecate()

    found = outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn, organisation=sites.hospital_b)

    assert [p.study_instance_uid for p in found] == [kept[0].StudyInstanceUID]


def test_the_asking_sites_own_studies_are_not_outside_priors(sites: Sites, tmp_path: Path) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    publish(sites, jane, a_study(jane.a_mrn), tmp_path)

    assert outside_priors(authority=sites.a_mrns, identifier=jane.a_mrn, organisation=sites.hospital_a) == []


def test_a_patient_the_empi_does_not_know_has_no_priors(sites: Sites) -> None:  # noqa: F811
    assert outside_priors(authority=sites.b_mrns, identifier="NOBODY", organisation=sites.hospital_b) == []
    assert patient_identities(authority=sites.b_mrns, identifier="NOBODY") is None
