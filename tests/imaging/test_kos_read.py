"""Reading KOS manifests: the NIST XDS-I test manifest, built ones, and files that are not one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.uid import CTImageStorage, MRImageStorage

from imaging.kos.manifest import Accession, EvidenceInstance, EvidenceSeries, EvidenceStudy
from imaging.kos.read import NotAManifest, manifest_read
from tests.imaging.dicom.datasets import ct_image, part10_bytes
from tests.imaging.kos_factory import kos_build

IHE = Path(__file__).resolve().parents[3] / "shared" / "ihe"
NIST_KOS = IHE / "nist-testkit" / "testdata" / "IDCDEPT001" / "kos.dcm"
HOSPA_OID = "1.3.6.1.4.1.21367.13.20.1000"


def written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "kos.dcm"
    path.write_bytes(data)
    return path


def test_the_nist_manifest_is_read_field_by_field() -> None:
    manifest = manifest_read(NIST_KOS)

    assert manifest.sop_instance_uid == "2.25.264096862221500429694988291417299542916"
    assert manifest.patient.patient_id == "IDCDEPT001-a"
    assert manifest.patient.issuer_of_patient_id == ""
    assert manifest.patient.issuer_oid == ""
    assert manifest.other_patient_ids == ()
    assert manifest.study_instance_uid == "1.3.6.1.4.1.21367.201599.1.201604021948007"
    assert manifest.accession == Accession(accession_number="IDC001-a")
    assert manifest.study_date == "20150201"
    assert manifest.study_description == ""
    assert manifest.requested_accessions == ()
    assert manifest.studies == (
        EvidenceStudy(
            study_instance_uid="1.3.6.1.4.1.21367.201599.1.201604021948007",
            series=(EvidenceSeries(
                series_instance_uid="1.3.6.1.4.1.21367.201599.2.201604021948008",
                retrieve_ae_title="DCM4CHEE",
                retrieve_location_uid="1.3.6.1.4.1.21367.102.1.1",
                instances=(EvidenceInstance(
                    referenced_sop_class_uid="1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography
                    referenced_sop_instance_uid="1.3.6.1.4.1.21367.201599.3.201604021948008.1"),),
            ),),
        ),
    )
    assert manifest.accessions == (Accession(accession_number="IDC001-a"),)


def test_a_built_manifest_of_hospital_a_round_trips(tmp_path: Path) -> None:
    data = kos_build(
        patient_id="A123", issuer=HOSPA_OID, sop_instance_uid="1.2.3.9", study_date="20240102",
        study_description="CT CHEST", requested_accessions=["ACC0001"],
        studies=[
            ("1.2.3.1", "ACC0001", [
                ("1.2.3.1.1", "CT", "HOSPA_PACS", "1.2.3.77", [(CTImageStorage, "1.2.3.1.1.1"),
                                                              (CTImageStorage, "1.2.3.1.1.2")]),
                ("1.2.3.1.2", "", "", "", [(MRImageStorage, "1.2.3.1.2.1")]),
            ]),
            ("1.2.3.2", "", [("1.2.3.2.1", "MR", "HOSPA_PACS", "", [(MRImageStorage, "1.2.3.2.1.1")])]),
        ],
    )

    manifest = manifest_read(written(tmp_path, data))

    assert manifest.sop_instance_uid == "1.2.3.9"
    assert manifest.patient.patient_id == "A123"
    assert manifest.patient.issuer_oid == HOSPA_OID
    assert manifest.patient.universal_entity_id_type == "ISO"
    assert manifest.study_instance_uid == "1.2.3.1"
    assert (manifest.study_date, manifest.study_description) == ("20240102", "CT CHEST")
    assert manifest.requested_accessions == (Accession(accession_number="ACC0001"),)
    first, second = manifest.studies
    assert first.accession == Accession(accession_number="ACC0001")
    assert second.accession is None
    assert first.series[0] == EvidenceSeries(
        series_instance_uid="1.2.3.1.1", retrieve_ae_title="HOSPA_PACS", retrieve_location_uid="1.2.3.77",
        modality="CT", instances=(EvidenceInstance(CTImageStorage, "1.2.3.1.1.1"),
                                  EvidenceInstance(CTImageStorage, "1.2.3.1.1.2")))
    assert first.series[1] == EvidenceSeries(
        series_instance_uid="1.2.3.1.2", instances=(EvidenceInstance(MRImageStorage, "1.2.3.1.2.1"),))
    assert first.modalities == ("CT",)
    assert first.instance_count == 3
    assert second.series[0].modality == "MR"


def test_bytes_that_are_not_dicom_are_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(NotAManifest, match="not a DICOM Part 10 file"):
        manifest_read(written(tmp_path, b"%PDF-1.7 hospital A's report"))


def test_a_ct_image_is_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(NotAManifest, match="is not Key Object Selection"):
        manifest_read(written(tmp_path, part10_bytes(ct_image())))


@pytest.mark.parametrize("kept", [0.1, 0.5, 0.67, 0.9, 0.99])
def test_a_truncated_manifest_is_not_a_manifest(tmp_path: Path, kept: float) -> None:
    data = NIST_KOS.read_bytes()

    with pytest.raises(NotAManifest):
        manifest_read(written(tmp_path, data[: int(len(data) * kept)]))


def test_a_manifest_without_evidence_is_not_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(NotAManifest, match="Current Requested Procedure Evidence"):
        manifest_read(written(tmp_path, kos_build(patient_id="A123", studies=[])))


@pytest.mark.filterwarnings("ignore:The value length")
def test_an_overlong_uid_makes_the_file_not_a_manifest(tmp_path: Path) -> None:
    data = kos_build(patient_id="A123", studies=[
        ("1.2.3.1", "", [("1." + "2" * 70, "CT", "", "", [(CTImageStorage, "1.2.3.1.1.1")])])])

    with pytest.raises(NotAManifest, match="SeriesInstanceUID"):
        manifest_read(written(tmp_path, data))
