"""CT images made for the tests: hospital A's patient, small pixel data, valid file meta."""

from __future__ import annotations

from io import BytesIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

PIXELS = bytes(range(256)) * 2  # 16 x 16 pixels, 16 bits each


def ct_image(*, sop_instance_uid: str | None = None, megabytes: int = 0) -> Dataset:
    """One CT slice of Jane Doe, MRN A123 at hospital A; 16 x 16 pixels unless `megabytes`."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_instance_uid or generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "A123"
    ds.IssuerOfPatientID = "HOSPA"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyDate = "20240102"
    ds.Modality = "CT"
    ds.AccessionNumber = "ACC0001"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 16
    ds.Columns = 16
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    ds.PixelData = PIXELS
    if megabytes:
        ds.Rows = ds.Columns = 512
        ds.NumberOfFrames = megabytes * 2  # 512 x 512 x 2 bytes is half a megabyte a frame
        ds.PixelData = PIXELS * (ds.Rows * ds.Columns * ds.NumberOfFrames * 2 // len(PIXELS))

    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def part10_bytes(ds: Dataset) -> bytes:
    """The dataset as a PS3.10 file: preamble, DICM, file meta, data set."""
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
