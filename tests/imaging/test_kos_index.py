"""The manifest index: a registered manifest's studies listed for the radiologist, and RAD-69's
requests resolved to instances and where to retrieve them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydicom.uid import CTImageStorage, GrayscaleSoftcopyPresentationStateStorage
from pytest_django import DjangoAssertNumQueries

from imaging.kos.manifest import EvidenceInstance, EvidenceSeries, EvidenceStudy, Manifest, PatientIdentifier
from imaging.kos.read import manifest_read
from imaging.kos.selectors import InstanceLocation, instances_resolve, studies_for_patients
from imaging.kos.services import manifest_index, manifest_unindex
from imaging.models import ManifestInstance, ManifestSeries, ManifestStudy
from tests.imaging.kos_factory import kos_build

pytestmark = pytest.mark.django_db

HOSPA_PACS_LOCATION = "1.3.6.1.4.1.21367.13.20.1000.5"
ENTRY = "urn:uuid:0b6a6f2e-8d43-4c11-9d3a-5f5b0c1e0001"
JANE = "E0001^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"  # the affinity domain's ID of Jane Doe


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    """Hospital A's chest CT of Jane Doe: two series, the second with a presentation state."""
    path = tmp_path / "kos.dcm"
    path.write_bytes(kos_build(
        patient_id="A123", study_date="20240102", study_description="CT CHEST", studies=[
            ("1.2.3.1", "ACC0001", [
                ("1.2.3.1.1", "CT", "HOSPA_PACS", HOSPA_PACS_LOCATION,
                 [(CTImageStorage, "1.2.3.1.1.1"), (CTImageStorage, "1.2.3.1.1.2")]),
                ("1.2.3.1.2", "PR", "HOSPA_ARCHIVE", HOSPA_PACS_LOCATION,
                 [(GrayscaleSoftcopyPresentationStateStorage, "1.2.3.1.2.1")]),
            ]),
        ]))
    return manifest_read(path)


def index(manifest: Manifest, *, entry: str = ENTRY, patient_id: str = JANE) -> None:
    manifest_index(document_entry_uuid=entry, document_unique_id="1.2.3.9",
                   repository_unique_id="1.3.6.1.4.1.21367.13.20.1000.1", patient_id=patient_id,
                   manifest=manifest)


def test_an_indexed_manifest_lists_its_study_for_the_patient(manifest: Manifest) -> None:
    index(manifest)

    (study,) = studies_for_patients([JANE, "E0002^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"])

    assert study.study_instance_uid == "1.2.3.1"
    assert (study.accession_number, study.study_date, study.study_description) == (
        "ACC0001", "20240102", "CT CHEST")
    assert study.modalities == ("CT", "PR")
    assert (study.document_entry_uuid, study.document_unique_id) == (ENTRY, "1.2.3.9")
    assert study.repository_unique_id == "1.3.6.1.4.1.21367.13.20.1000.1"
    assert (study.series_count, study.instance_count) == (2, 3)
    assert study.retrieve_ae_titles == ("HOSPA_ARCHIVE", "HOSPA_PACS")


def test_another_patient_sees_none_of_the_studies(manifest: Manifest) -> None:
    index(manifest)

    assert studies_for_patients(["E0002^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"]) == []
    assert studies_for_patients([]) == []


def test_the_metadata_fills_what_the_manifest_leaves_out(manifest: Manifest) -> None:
    bare = replace(manifest, study_date="", studies=tuple(
        replace(study, series=tuple(replace(s, modality="") for s in study.series))
        for study in manifest.studies))

    manifest_index(document_entry_uuid=ENTRY, document_unique_id="1.2.3.9", repository_unique_id="1.2",
                   patient_id=JANE, manifest=bare, study_date="20240103", modalities="CT")

    (study,) = studies_for_patients([JANE])
    assert (study.study_date, study.modalities) == ("20240103", ("CT",))


def test_a_study_request_resolves_to_all_its_instances(manifest: Manifest) -> None:
    index(manifest)

    assert instances_resolve(study_uid="1.2.3.1") == [
        InstanceLocation("1.2.3.1", "1.2.3.1.1", CTImageStorage, "1.2.3.1.1.1", "HOSPA_PACS",
                         HOSPA_PACS_LOCATION),
        InstanceLocation("1.2.3.1", "1.2.3.1.1", CTImageStorage, "1.2.3.1.1.2", "HOSPA_PACS",
                         HOSPA_PACS_LOCATION),
        InstanceLocation("1.2.3.1", "1.2.3.1.2", GrayscaleSoftcopyPresentationStateStorage, "1.2.3.1.2.1",
                         "HOSPA_ARCHIVE", HOSPA_PACS_LOCATION),
    ]


def test_a_series_request_resolves_to_that_series_only(manifest: Manifest) -> None:
    index(manifest)

    found = instances_resolve(study_uid="1.2.3.1", series_uids=["1.2.3.1.2"])

    assert [i.sop_instance_uid for i in found] == ["1.2.3.1.2.1"]
    assert found[0].retrieve_ae_title == "HOSPA_ARCHIVE"


def test_a_document_request_resolves_to_that_instance_only(manifest: Manifest) -> None:
    index(manifest)

    found = instances_resolve(study_uid="1.2.3.1", series_uids=["1.2.3.1.1"], instance_uids=["1.2.3.1.1.2"])

    assert [i.sop_instance_uid for i in found] == ["1.2.3.1.1.2"]
    assert [i.sop_instance_uid for i in instances_resolve(study_uid="1.2.3.1",
                                                          instance_uids=["1.2.3.1.2.1"])] == ["1.2.3.1.2.1"]


def test_unknown_uids_resolve_to_nothing(manifest: Manifest) -> None:
    index(manifest)

    assert instances_resolve(study_uid="9.9.9") == []
    assert instances_resolve(study_uid="1.2.3.1", series_uids=["9.9.9"]) == []
    assert instances_resolve(study_uid="1.2.3.1", instance_uids=["9.9.9"]) == []
    assert instances_resolve(study_uid="1.2.3.1", series_uids=["1.2.3.1.2"],
                             instance_uids=["1.2.3.1.1.1"]) == []


def test_an_instance_two_manifests_reference_resolves_once(manifest: Manifest) -> None:
    index(manifest)
    index(manifest, entry="urn:uuid:0b6a6f2e-8d43-4c11-9d3a-5f5b0c1e0002")

    assert len(instances_resolve(study_uid="1.2.3.1")) == 3
    assert len(studies_for_patients([JANE])) == 2


def test_a_study_listed_twice_in_a_manifest_is_indexed_once(manifest: Manifest) -> None:
    (study,) = manifest.studies
    twice = replace(manifest, studies=(replace(study, series=study.series[:1]),
                                       replace(study, accession=None, series=study.series[1:])))

    index(twice)

    (summary,) = studies_for_patients([JANE])
    assert (summary.series_count, summary.instance_count, summary.accession_number) == (2, 3, "ACC0001")


def test_an_unindexed_manifest_leaves_nothing_behind(manifest: Manifest) -> None:
    index(manifest)
    index(manifest, entry="urn:uuid:0b6a6f2e-8d43-4c11-9d3a-5f5b0c1e0002")

    manifest_unindex(document_entry_uuid=ENTRY)

    assert [s.document_entry_uuid for s in studies_for_patients([JANE])] == [
        "urn:uuid:0b6a6f2e-8d43-4c11-9d3a-5f5b0c1e0002"]
    assert ManifestSeries.objects.count() == 2
    assert ManifestInstance.objects.count() == 3


def test_a_300_instance_study_is_indexed_in_a_handful_of_queries(
        django_assert_max_num_queries: DjangoAssertNumQueries) -> None:
    series = tuple(
        EvidenceSeries(series_instance_uid=f"1.2.4.1.{n}", modality="CT", retrieve_ae_title="HOSPA_PACS",
                       instances=tuple(EvidenceInstance(CTImageStorage, f"1.2.4.1.{n}.{i}")
                                       for i in range(100)))
        for n in range(3)
    )
    big = Manifest(sop_instance_uid="1.2.4.9", patient=PatientIdentifier("A123"),
                   studies=(EvidenceStudy(study_instance_uid="1.2.4.1", series=series),))

    with django_assert_max_num_queries(3):  # one INSERT per table
        index(big)
    with django_assert_max_num_queries(2):
        (study,) = studies_for_patients([JANE])
    with django_assert_max_num_queries(1):
        assert len(instances_resolve(study_uid="1.2.4.1")) == 300
    with django_assert_max_num_queries(5):
        manifest_unindex(document_entry_uuid=ENTRY)

    assert study.instance_count == 300
    assert not ManifestStudy.objects.exists()
