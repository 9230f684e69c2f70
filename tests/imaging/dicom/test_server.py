"""The listener in this process: handlers bound from the routes table, statuses, negotiation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydicom import dcmread
from pytest_django.fixtures import Settings

from config.routes import DICOM_ROUTES
from imaging.dicom.server import event_handlers, start_server
from tests.imaging.dicom.datasets import PIXELS, ct_image
from tests.imaging.dicom.scu import association, c_store
from tests.servers.process import free_port


@contextmanager
def running_listener() -> Iterator[int]:
    """The node's listener on a free port, keeping data sets in memory (pynetdicom's default)."""
    port = free_port()
    server = start_server(host="127.0.0.1", port=port)
    try:
        yield port
    finally:
        server.ae.shutdown()


@pytest.fixture
def storage_dir(settings: Settings, tmp_path: Path) -> Path:
    settings.DICOM_STORAGE_DIR = tmp_path / "incoming"
    return Path(settings.DICOM_STORAGE_DIR)


@pytest.fixture
def listener(storage_dir: Path) -> Iterator[int]:
    with running_listener() as port:
        yield port


def test_every_dicom_route_binds_its_handler() -> None:
    bound = [(event.name, f"{handler.__module__}.{handler.__name__}")
             for event, handler, *_ in event_handlers()]

    assert bound == [(route.event, route.handler) for route in DICOM_ROUTES]
    assert dict(bound)["EVT_C_STORE"] == "imaging.dicom.handlers.c_store"


def test_the_listener_announces_its_maximum_pdu_length(listener: int) -> None:
    with association(listener) as assoc:
        assert assoc.is_established
        assert assoc.acceptor.maximum_length == 131072
        assert int(assoc.send_c_echo().Status) == 0x0000


def test_an_association_for_another_called_ae_title_is_rejected(listener: int) -> None:
    with association(listener, called_ae="SOMEONE_ELSE") as assoc:
        assert assoc.is_rejected


def test_associations_beyond_the_maximum_are_rejected(storage_dir: Path,
                                                     settings: Settings) -> None:
    settings.DICOM_MAX_ASSOCIATIONS = 1

    with running_listener() as port, association(port) as first, association(port) as second:
        assert first.is_established
        assert second.is_rejected


def test_an_instance_held_in_memory_is_stored_as_a_part_10_file(
        listener: int, storage_dir: Path) -> None:
    ds = ct_image()

    assert c_store(listener, ds) == 0x0000

    stored = dcmread(storage_dir / f"{ds.SOPInstanceUID}.dcm")
    assert stored.preamble == b"\x00" * 128
    assert stored.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert stored.SOPInstanceUID == ds.SOPInstanceUID
    assert stored.PixelData == PIXELS


def test_a_storage_folder_that_cannot_be_written_answers_out_of_resources(
        listener: int, settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    settings.DICOM_STORAGE_DIR = tmp_path / "a-file" / "incoming"

    assert c_store(listener, ct_image()) == 0xA700


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
def test_a_sop_instance_uid_that_is_not_a_uid_cannot_be_understood(listener: int) -> None:
    assert c_store(listener, ct_image(sop_instance_uid="1.2.x")) == 0xC000
