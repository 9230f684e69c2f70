"""The `dicom` process as hospitals see it: dcmtk and Orthanc as real peers on loopback."""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from pydicom import dcmread

from tests.imaging.dicom.datasets import PIXELS, ct_image, part10_bytes
from tests.imaging.dicom.scu import association
from tests.servers.node import Node
from tests.servers.orthanc import OrthancServer
from tests.servers.process import require_dcmtk

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("transactional_db")]

DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


@pytest.fixture
def dicom_node(node: Node) -> Node:
    return node.start("dicom")


def incoming(node: Node) -> Path:
    return node.base / "var" / "dicom" / "incoming"


def echoscu(node: Node) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_dcmtk("echoscu"), "-aet", "HOSPA_PACS", "-aec", "HIENODE", "127.0.0.1",
         str(node.dicom_port)],
        env=DCMTK_ENV, capture_output=True, text=True, timeout=30,
    )


def rss_bytes(pid: int) -> int:
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


def storescu(node: Node, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_dcmtk("storescu"), "-aet", "HOSPA_PACS", "-aec", "HIENODE", "127.0.0.1",
         str(node.dicom_port), str(path)],
        env=DCMTK_ENV, capture_output=True, text=True, timeout=120,
    )


def test_echoscu_gets_an_answer(dicom_node: Node) -> None:
    result = echoscu(dicom_node)

    assert result.returncode == 0, result.stderr


def test_an_image_sent_with_storescu_is_stored_as_it_was_sent(dicom_node: Node,
                                                              tmp_path: Path) -> None:
    ds = ct_image()
    sent = tmp_path / "ct.dcm"
    sent.write_bytes(part10_bytes(ds))

    result = storescu(dicom_node, sent)

    assert result.returncode == 0, result.stderr
    stored = dcmread(incoming(dicom_node) / f"{ds.SOPInstanceUID}.dcm")
    assert stored.SOPInstanceUID == ds.SOPInstanceUID
    assert stored.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert stored.PixelData == PIXELS
    assert list((incoming(dicom_node) / ".partial").iterdir()) == []


def peak_rss_bytes(pid: int) -> int:
    # VmHWM: the most this process has ever held resident (Linux proc(5)).
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no /proc/<pid>/status VmHWM on this system")


def test_a_100_mb_image_goes_to_disk_as_it_arrives_not_to_memory(dicom_node: Node,
                                                                 tmp_path: Path) -> None:
    ds = ct_image(megabytes=100)
    sent = tmp_path / "ct.dcm"
    sent.write_bytes(part10_bytes(ds))
    pid = dicom_node.processes["dicom"].pid
    resident_before = rss_bytes(pid)

    result = storescu(dicom_node, sent)

    assert result.returncode == 0, result.stderr
    stored = incoming(dicom_node) / f"{ds.SOPInstanceUID}.dcm"
    assert stored.stat().st_size > 100 * 1024 * 1024
    assert dcmread(stored, stop_before_pixels=True).NumberOfFrames == 200
    assert peak_rss_bytes(pid) - resident_before < 32 * 1024 * 1024
    stored.unlink()


def test_hospital_a_pacs_stores_an_instance_on_the_node(dicom_node: Node,
                                                        orthanc: OrthancServer) -> None:
    ds = ct_image()
    with orthanc.rest() as rest:
        uploaded = rest.post("/instances", content=part10_bytes(ds))
        assert uploaded.status_code == 200, uploaded.text

        stored = rest.post("/modalities/HIENODE/store", content=uploaded.json()["ID"])

    assert stored.status_code == 200, stored.text
    received = dcmread(incoming(dicom_node) / f"{ds.SOPInstanceUID}.dcm")
    assert received.SOPInstanceUID == ds.SOPInstanceUID
    assert received.PixelData == PIXELS


def test_hospital_a_pacs_can_echo_the_node(dicom_node: Node, orthanc: OrthancServer) -> None:
    with orthanc.rest() as rest:
        response = rest.post("/modalities/HIENODE/echo", content="{}")

    assert response.status_code == 200, response.text


def send_until_closed(sock: socket.socket, *, total: int, seconds: float) -> float | None:
    """Send `total` bytes as fast as the peer takes them; seconds until it hung up, or None."""
    chunk = b"\x00" * (1 << 20)
    started, sent = time.monotonic(), 0
    try:
        while sent < total and time.monotonic() - started < seconds:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable and sock.recv(1) == b"":
                return time.monotonic() - started
            sock.sendall(chunk)
            sent += len(chunk)
    except TimeoutError:  # the peer stopped reading but kept the connection open
        return None
    except OSError:  # EPIPE or ECONNRESET: the peer closed the connection
        return time.monotonic() - started
    return None


def test_a_pdu_declaring_300_mb_is_refused_before_it_is_read(dicom_node: Node) -> None:
    declared = 300_000_000
    with socket.create_connection(("127.0.0.1", dicom_node.dicom_port), timeout=5) as sock:
        # PS3.8 9.3.2: an A-ASSOCIATE-RQ header (type 01H) whose length field says 300 MB,
        # then the bytes it promised, as fast as the node takes them.
        sock.sendall(struct.pack(">BBL", 0x01, 0x00, declared))
        closed_after = send_until_closed(sock, total=declared, seconds=10)

    assert closed_after is not None and closed_after < 2
    assert dicom_node.processes["dicom"].alive()
    assert rss_bytes(dicom_node.processes["dicom"].pid) < 200 * 1024 * 1024
    assert echoscu(dicom_node).returncode == 0


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
def test_a_sop_instance_uid_that_is_a_path_is_refused_and_writes_nothing(
        dicom_node: Node) -> None:
    var = dicom_node.base / "var"
    before = {path for path in var.rglob("*") if path.is_file()}

    with association(dicom_node.dicom_port) as assoc:
        assert assoc.is_established
        response = assoc.send_c_store(ct_image(sop_instance_uid="../../etc/x"))
        # The association goes on: the next instance is stored.
        good = ct_image()
        assert int(assoc.send_c_store(good).Status) == 0x0000

    assert int(response.Status) == 0xC000  # PS3.4 B.2.3: Error, Cannot understand
    written = {path for path in var.rglob("*") if path.is_file()} - before
    assert {path.name for path in written if path.suffix == ".dcm"} == {
        f"{good.SOPInstanceUID}.dcm"
    }
    assert not (incoming(dicom_node) / "../../etc/x.dcm").exists()
    assert not (dicom_node.base / "etc").exists()
