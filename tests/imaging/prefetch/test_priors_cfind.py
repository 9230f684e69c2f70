"""Outside priors found by C-FIND (PS3.4 C.4.1) at the other sites' PACSs: hospital A's Orthanc
asked by A's MRN of the patient, merged with the manifest index by Study Instance UID."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from imaging.models import DicomNode
from imaging.prefetch.priors import outside_priors
from tests.imaging.prefetch.sites import (  # noqa: F401
    SitePacs,
    Sites,
    a_study,
    patient_at_a_and_b,
    publish,
    site_pacs,
    sites,
    upload,
)
from tests.servers.process import free_port


def test_a_study_only_found_by_c_find_at_as_pacs_lists_with_its_body_part(
        sites: Sites, site_pacs: SitePacs) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    study = a_study(jane.a_mrn, count=2, study_date="20230405", modality="MR", body_part="KNEE",
                    description="MR KNEE")
    upload(site_pacs.a, study)

    (prior,) = outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn, organisation=sites.hospital_b)

    assert prior.study_instance_uid == study[0].StudyInstanceUID
    assert (prior.study_date, prior.modalities, prior.description) == ("20230405", ("MR",), "MR KNEE")
    assert (prior.body_part, prior.instances) == ("KNEE", 2)
    assert (prior.site_id, prior.source_id) == (sites.hospital_a.pk, sites.a_pacs.pk)


def test_c_find_asks_by_the_mrn_of_the_sources_own_site(sites: Sites, site_pacs: SitePacs) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    # The same MRN under hospital B's authority is someone else at hospital A.
    upload(site_pacs.a, a_study(jane.b_mrn, issuer="HOSPB"))

    assert outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn, organisation=sites.hospital_b) == []


def test_the_pacs_gives_the_body_part_of_a_study_the_manifest_lists(
        sites: Sites, site_pacs: SitePacs, tmp_path: Path) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    study = a_study(jane.a_mrn, count=3, body_part="ABDOMEN")
    publish(sites, jane, study, tmp_path)
    upload(site_pacs.a, study)

    (prior,) = outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn, organisation=sites.hospital_b)

    assert (prior.study_instance_uid, prior.body_part, prior.instances) == (
        study[0].StudyInstanceUID, "ABDOMEN", 3)


def test_an_unreachable_source_is_skipped_with_a_warning(
        sites: Sites, site_pacs: SitePacs, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    study = a_study(jane.a_mrn)
    upload(site_pacs.a, study)
    DicomNode.objects.create(organisation=sites.hospital_a, ae_title="HOSPA_ARCHIVE", host="127.0.0.1",
                             port=free_port())

    with caplog.at_level(logging.WARNING, logger="imaging.prefetch.priors"):
        found = outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn,
                               organisation=sites.hospital_b)

    assert [p.study_instance_uid for p in found] == [study[0].StudyInstanceUID]
    assert "C-FIND at HOSPA_ARCHIVE skipped" in caplog.text
    assert jane.a_mrn not in caplog.text and jane.b_mrn not in caplog.text


def test_a_study_at_the_destination_already_is_marked_already_here(
        sites: Sites, site_pacs: SitePacs, tmp_path: Path) -> None:  # noqa: F811
    jane = patient_at_a_and_b(sites)
    there, not_yet = a_study(jane.a_mrn, count=2), a_study(jane.a_mrn, count=2, study_date="20200101")
    for study in (there, not_yet):
        publish(sites, jane, study, tmp_path)
        upload(site_pacs.a, study)
    upload(site_pacs.b, there)
    upload(site_pacs.b, not_yet[:1])  # one instance of two: not here yet

    found = outside_priors(authority=sites.b_mrns, identifier=jane.b_mrn, organisation=sites.hospital_b,
                           check_destination=sites.b_pacs)

    assert {p.study_instance_uid: p.already_here for p in found} == {
        there[0].StudyInstanceUID: True, not_yet[0].StudyInstanceUID: False}
