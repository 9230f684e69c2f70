"""Synthetic CT studies for the prefetch benchmark, and what it asks of an Orthanc's REST API.

Each slice is a CT Image Storage instance of 512 x 512 MONOCHROME2 pixels, 16 bits each, filled
with random bytes so nothing on the way can compress them: about 512 KB as a PS3.10 file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from tests.servers.orthanc import OrthancServer

SIDE = 512


@dataclass(frozen=True)
class Study:
    study_instance_uid: str
    patient_id: str
    instances: int
    bytes: int  # of the PS3.10 files stored at the source


def ct_slices(*, study_uid: str, count: int, patient_id: str, issuer: str, seed: int) -> Iterator[bytes]:
    """`count` slices of one series of the study, as PS3.10 files."""
    rng = random.Random(seed)
    series_uid = generate_uid()
    for number in range(1, count + 1):
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.PatientName, ds.PatientID, ds.IssuerOfPatientID = "BENCH^PATIENT", patient_id, issuer
        ds.PatientBirthDate, ds.PatientSex = "19700101", "F"
        ds.StudyDate, ds.StudyTime, ds.Modality = "20240102", "093000", "CT"
        ds.StudyDescription, ds.BodyPartExamined = "CT CHEST", "CHEST"
        ds.AccessionNumber, ds.StudyID = f"ACC{study_uid[-10:]}", "1"
        ds.SeriesNumber, ds.InstanceNumber = 1, number
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [-250.0, -250.0, -1.25 * number]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing, ds.SliceThickness = [0.9765625, 0.9765625], 1.25
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.Rows = ds.Columns = SIDE
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = rng.randbytes(SIDE * SIDE * 2)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        yield buffer.getvalue()


def study_store(server: OrthancServer, *, count: int, patient_id: str, issuer: str, seed: int) -> Study:
    """A new study of `count` slices built and stored in the PACS (REST POST /instances)."""
    uid, size = generate_uid(), 0
    with server.rest() as rest:
        for part10 in ct_slices(study_uid=uid, count=count, patient_id=patient_id, issuer=issuer, seed=seed):
            rest.post("/instances", content=part10).raise_for_status()
            size += len(part10)
    return Study(study_instance_uid=uid, patient_id=patient_id, instances=count, bytes=size)


def held(server: OrthancServer, study_uid: str) -> int:
    """How many instances of the study the PACS holds."""
    with server.rest() as rest:
        answer = rest.post("/tools/find", json={"Level": "Instance",
                                                "Query": {"StudyInstanceUID": study_uid}})
        answer.raise_for_status()
        return len(answer.json())


def study_delete(server: OrthancServer, study_uid: str) -> None:
    """The study removed from the PACS, if it holds it."""
    with server.rest() as rest:
        answer = rest.post("/tools/lookup", content=study_uid)
        answer.raise_for_status()
        for match in answer.json():
            if match["Type"] == "Study":
                rest.delete(f"/studies/{match['ID']}").raise_for_status()
