"""Hostile DICOM peers against the real `dicom` process (manage.py dicom): an oversized P-DATA
PDU, an association flood, and a C-STORE whose data set is not DICOM."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, _config
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from tests.conftest import needs_node
from tests.imaging.dicom.datasets import ct_image, part10_bytes
from tests.imaging.dicom.scu import association
from tests.servers.node import Node

pytestmark = needs_node

# PS3.8 9.3.1: a PDU is its type, a reserved byte and a 32-bit length, then that many bytes.
P_DATA_TF = 0x04


def _files(node: Node) -> set[Path]:
    return {path for path in (node.base / "var" / "dicom").rglob("*") if path.is_file()}


def _echo_succeeds(node: Node) -> bool:
    with association(node.dicom_port) as assoc:
        return assoc.is_established and int(assoc.send_c_echo().Status) == 0x0000


def test_a_p_data_pdu_declaring_300_mb_ends_the_association_without_being_read(dicom: Node) -> None:
    with association(dicom.dicom_port) as assoc:
        assert assoc.is_established
        sock = assoc.dul.socket.socket  # type: ignore[union-attr]
        assert sock is not None
        sock.sendall(struct.pack(">BBL", P_DATA_TF, 0x00, 300_000_000) + b"\x00" * 65536)
        # DICOM_MAX_PDU_LENGTH (imaging/dicom/transport.py): the node hangs up at the header.
        sock.settimeout(5)
        try:
            while sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
    assert dicom.processes["dicom"].alive()
    assert _echo_succeeds(dicom)


def test_associations_past_the_limit_are_rejected_and_the_node_answers_after(dicom: Node) -> None:
    from django.conf import settings

    limit = settings.DICOM_MAX_ASSOCIATIONS
    ae = AE(ae_title="HOSPA_PACS")
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 20
    # All at once, each from a thread of its own, as a flood would come.
    with ThreadPoolExecutor(max_workers=limit + 4) as pool:
        flood = list(pool.map(lambda _: ae.associate("127.0.0.1", dicom.dicom_port,
                                                      ae_title="HIENODE"), range(limit + 4)))
        try:
            established = [assoc for assoc in flood if assoc.is_established]
            rejected = [assoc for assoc in flood if assoc.is_rejected]
            assert len(established) <= limit
            assert len(established) + len(rejected) == limit + 4
            # PS3.8 9.3.4: A-ASSOCIATE-RJ, rejected-transient, "local-limit-exceeded".
            answers = {(assoc.acceptor.primitive.result, assoc.acceptor.primitive.diagnostic)
                       for assoc in rejected if assoc.acceptor.primitive is not None}
            assert answers == {(0x02, 0x02)}
        finally:
            list(pool.map(lambda assoc: assoc.release() if assoc.is_established else None, flood))
    assert dicom.processes["dicom"].alive()
    assert _echo_succeeds(dicom)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_c_store_of_a_data_set_that_is_not_dicom_fails_and_stores_nothing(
        dicom: Node, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    # pynetdicom then sends the file's bytes as they are, where it would otherwise read and
    # re-encode them into a well-formed data set.
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    image = ct_image(sop_instance_uid=generate_uid())
    whole = part10_bytes(image)
    # PS3.10 7.1: preamble, "DICM", then (0002,0000) File Meta Information Group Length.
    meta_end = 132 + 12 + struct.unpack("<L", whole[140:144])[0]
    data_set = whole[meta_end:]
    # The head of the data set stays whole, so that the SCU can still find the SOP Instance UID.
    damaged = (data_set[:200] + bytes(range(256)) * 4 if damage == "garbage"
               else data_set[: len(data_set) - 100])
    path = tmp_path / "damaged.dcm"
    path.write_bytes(whole[:meta_end] + damaged)
    before = _files(dicom)

    ae = AE(ae_title="HOSPA_PACS")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    assoc = ae.associate("127.0.0.1", dicom.dicom_port, ae_title="HIENODE")
    assert assoc.is_established
    try:
        status = int(assoc.send_c_store(path).Status)
        # The association goes on.
        assert int(assoc.send_c_echo().Status) == 0x0000
    finally:
        assoc.release()

    # PS3.4 B.2.3: Error, Cannot understand.
    assert status == 0xC000
    assert _files(dicom) == before
