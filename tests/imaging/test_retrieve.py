"""The retrieve SCU against a real PACS: hospital A's Orthanc gives a study back by C-GET and C-MOVE."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from imaging.dicom.retrieve import (
    C_GET,
    C_MOVE,
    MethodUnsupported,
    Peer,
    PeerUnreachable,
    instances_fetch,
    storage_contexts,
)
from tests.imaging.dicom.datasets import ct_image, part10_bytes
from tests.servers.orthanc import OrthancServer, start_orthanc
from tests.servers.process import free_port

pytestmark = pytest.mark.integration
CALLING_AE = "HIENODE"
MOVE_AE = "HIENODE_MOVE"


def a_study(count: int = 3, *, implicit: int = 1) -> list[Dataset]:
    """A CT series of `count` slices of one study; the last `implicit` in implicit VR LE."""
    study_uid, series_uid = generate_uid(), generate_uid()
    slices = []
    for number in range(1, count + 1):
        ds = ct_image()
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.InstanceNumber = study_uid, series_uid, number
        if number > count - implicit:
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        slices.append(ds)
    return slices


def upload(pacs: OrthancServer, datasets: list[Dataset]) -> dict[str, bytes]:
    """Store the instances in the PACS; what it holds of each, by SOP Instance UID."""
    held = {}
    with pacs.rest() as rest:
        for ds in datasets:
            answer = rest.post("/instances", content=part10_bytes(ds))
            assert answer.status_code == 200, answer.text
            held[str(ds.SOPInstanceUID)] = rest.get(f"/instances/{answer.json()['ID']}/file").content
    return held


def data_set_bytes(part10: bytes) -> bytes:
    """A Part 10 file's data set as encoded, without preamble and file meta (PS3.10 7.1): what
    travels in a C-STORE, so what a retrieve must keep unchanged."""
    ds = dcmread(BytesIO(part10), stop_before_pixels=True)
    # Preamble and "DICM" (132 bytes), then (0002,0000) UL, explicit VR (12 bytes), then the group.
    return part10[132 + 12 + int(ds.file_meta.FileMetaInformationGroupLength):]


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """Hospital A's PACS, which lets the node retrieve by C-GET and C-MOVE."""
    server = start_orthanc(tmp_path_factory.mktemp("orthanc-retrieve"), ae_title="HOSPA_PACS",
                           extra_config={"DicomAlwaysAllowGet": True, "DicomAlwaysAllowMove": True,
                                         "DicomAlwaysAllowFind": True})
    yield server
    server.stop()


def peer(pacs: OrthancServer, method: str = C_GET) -> Peer:
    return Peer(ae_title=pacs.ae_title, host="127.0.0.1", port=pacs.dicom_port, method=method)


def test_c_get_brings_back_chosen_instances_with_their_data_sets_unchanged(
        pacs: OrthancServer, tmp_path: Path) -> None:
    study = a_study(3)
    held = upload(pacs, study)
    wanted = [str(ds.SOPInstanceUID) for ds in study[1:]]

    result = instances_fetch(peer=peer(pacs), calling_ae=CALLING_AE,
                             study_uid=study[0].StudyInstanceUID, series_uid=study[0].SeriesInstanceUID,
                             sop_instance_uids=wanted, sop_class_uids=[CTImageStorage],
                             folder=tmp_path, timeout=30)

    assert result.failed == {}
    assert sorted(result.files) == sorted(wanted)
    for uid, path in result.files.items():
        assert data_set_bytes(path.read_bytes()) == data_set_bytes(held[uid])
    syntaxes = {uid: dcmread(path).file_meta.TransferSyntaxUID for uid, path in result.files.items()}
    assert syntaxes == {wanted[0]: ExplicitVRLittleEndian, wanted[1]: ImplicitVRLittleEndian}


def test_c_get_of_a_whole_series_brings_back_every_instance(pacs: OrthancServer, tmp_path: Path) -> None:
    study = a_study(3)
    upload(pacs, study)
    uids = [str(ds.SOPInstanceUID) for ds in study]

    result = instances_fetch(peer=peer(pacs), calling_ae=CALLING_AE, study_uid=study[0].StudyInstanceUID,
                             series_uid=study[0].SeriesInstanceUID, sop_instance_uids=uids,
                             whole_series=True, sop_class_uids=[CTImageStorage], folder=tmp_path,
                             timeout=30)

    assert sorted(result.files) == sorted(uids) and result.failed == {}


def test_an_instance_the_pacs_does_not_hold_is_failed_with_a_reason(pacs: OrthancServer,
                                                                    tmp_path: Path) -> None:
    study = a_study(1, implicit=0)
    upload(pacs, study)
    missing = generate_uid()

    result = instances_fetch(peer=peer(pacs), calling_ae=CALLING_AE, study_uid=study[0].StudyInstanceUID,
                             series_uid=study[0].SeriesInstanceUID,
                             sop_instance_uids=[study[0].SOPInstanceUID, missing],
                             sop_class_uids=[CTImageStorage], folder=tmp_path, timeout=30)

    assert list(result.files) == [study[0].SOPInstanceUID]
    assert list(result.failed) == [missing]


def test_a_pacs_nobody_answers_for_is_unreachable(tmp_path: Path) -> None:
    nobody = Peer(ae_title="HOSPA_PACS", host="127.0.0.1", port=free_port())

    with pytest.raises(PeerUnreachable):
        instances_fetch(peer=nobody, calling_ae=CALLING_AE, study_uid="1.2.3", series_uid="1.2.3.4",
                        sop_instance_uids=["1.2.3.4.5"], sop_class_uids=[CTImageStorage],
                        folder=tmp_path, timeout=5)


def test_c_move_sends_the_instances_to_a_storage_scp_the_pacs_knows(pacs: OrthancServer,
                                                                     tmp_path: Path) -> None:
    study = a_study(2)
    held = upload(pacs, study)
    port = free_port()
    with pacs.rest() as rest:
        added = rest.put(f"/modalities/{MOVE_AE}", json={"AET": MOVE_AE, "Host": "127.0.0.1", "Port": port})
        assert added.status_code == 200, added.text
    uids = [str(ds.SOPInstanceUID) for ds in study]

    result = instances_fetch(peer=peer(pacs, C_MOVE), calling_ae=MOVE_AE,
                             study_uid=study[0].StudyInstanceUID, series_uid=study[0].SeriesInstanceUID,
                             sop_instance_uids=uids, sop_class_uids=[CTImageStorage], folder=tmp_path,
                             timeout=30, move_address=("127.0.0.1", port))

    assert result.failed == {}
    for uid, path in result.files.items():
        assert data_set_bytes(path.read_bytes()) == data_set_bytes(held[uid])


def test_c_move_without_a_move_destination_is_unsupported(pacs: OrthancServer, tmp_path: Path) -> None:
    with pytest.raises(MethodUnsupported):
        instances_fetch(peer=peer(pacs, C_MOVE), calling_ae=CALLING_AE, study_uid="1.2.3",
                        series_uid="1.2.3.4", sop_instance_uids=["1.2.3.4.5"],
                        sop_class_uids=[CTImageStorage], folder=tmp_path, timeout=5)


def test_storage_contexts_stay_within_an_association_s_128() -> None:
    few = storage_contexts([CTImageStorage])
    many = storage_contexts([f"1.2.840.10008.5.1.4.1.1.{n}" for n in range(200)])

    assert len(few) > 1 and all(len(c.transfer_syntax) == 1 for c in few)
    assert len(many) == 127
