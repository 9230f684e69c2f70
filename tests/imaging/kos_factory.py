"""KOS manifests built for the tests: valid PS3.10 Key Object Selection Documents from plain values.

    kos_build(patient_id="A123", issuer=HOSPA_OID, studies=[
        (study_uid, "ACC0001", [
            (series_uid, "CT", "HOSPA_PACS", retrieve_location_uid, [(CTImageStorage, sop_uid)]),
        ]),
    ])
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

KOS_SOP_CLASS_UID = "1.2.840.10008.5.1.4.1.1.88.59"

Instance = tuple[str, str]  # (SOP Class UID, SOP Instance UID)
Series = tuple[str, str, str, str, Sequence[Instance]]  # (uid, modality, retrieve AE, location UID, ...)
Study = tuple[str, str, Sequence[Series]]  # (Study Instance UID, accession number, series)


def kos_build(*, patient_id: str, studies: Sequence[Study], issuer: str | None = None,
              sop_instance_uid: str | None = None, study_date: str = "20240102",
              study_description: str = "", requested_accessions: Sequence[str] = ()) -> bytes:
    """A KOS manifest (PS3.3 A.35.4) of `studies`, as Part 10 bytes in explicit VR little endian.

    The KOS belongs to the first study and takes its accession number. An empty modality, AE title
    or location UID leaves the attribute out. `issuer` is the assigning authority's OID: it goes in
    Issuer of Patient ID and, as an ISO Universal Entity ID, in its qualifiers.
    """
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = KOS_SOP_CLASS_UID
    ds.SOPInstanceUID = sop_instance_uid or generate_uid()
    ds.StudyDate = study_date
    ds.StudyTime = "120000"
    ds.ContentDate = study_date
    ds.ContentTime = "120500"
    ds.AccessionNumber = studies[0][1] if studies else ""
    ds.Modality = "KO"
    ds.Manufacturer = "hienode tests"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = study_description
    ds.PatientName = "DOE^JANE"
    ds.PatientID = patient_id
    if issuer:
        ds.IssuerOfPatientID = issuer
        qualifiers = Dataset()
        qualifiers.UniversalEntityID = issuer
        qualifiers.UniversalEntityIDType = "ISO"
        ds.IssuerOfPatientIDQualifiersSequence = DicomSequence([qualifiers])
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = studies[0][0] if studies else generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyID = "1"
    ds.SeriesNumber = 999
    ds.InstanceNumber = 1
    ds.ReferencedPerformedProcedureStepSequence = DicomSequence([])
    if requested_accessions:
        ds.ReferencedRequestSequence = DicomSequence([_request(ds.StudyInstanceUID, a)
                                                      for a in requested_accessions])
    ds.CurrentRequestedProcedureEvidenceSequence = DicomSequence([_study(s) for s in studies])
    # PS3.16 TID 2010: the root CONTAINER (113030, DCM, "Manifest") and one IMAGE per instance.
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = DicomSequence([_code("113030", "DCM", "Manifest")])
    ds.ContinuityOfContent = "SEPARATE"
    template = Dataset()
    template.MappingResource = "DCMR"
    template.TemplateIdentifier = "2010"
    ds.ContentTemplateSequence = DicomSequence([template])
    ds.ContentSequence = DicomSequence([
        _image(sop_class, sop_instance)
        for _, _, series in studies for *_, instances in series for sop_class, sop_instance in instances
    ])

    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _study(study: Study) -> Dataset:
    study_uid, accession, series = study
    item = Dataset()
    if accession:
        item.AccessionNumber = accession
    item.ReferencedSeriesSequence = DicomSequence([_series(s) for s in series])
    item.StudyInstanceUID = study_uid
    return item


def _series(series: Series) -> Dataset:
    series_uid, modality, retrieve_ae, location_uid, instances = series
    item = Dataset()
    if retrieve_ae:
        item.RetrieveAETitle = retrieve_ae
    if modality:
        item.Modality = modality
    item.ReferencedSOPSequence = DicomSequence([_reference(c, i) for c, i in instances])
    item.SeriesInstanceUID = series_uid
    if location_uid:
        item.RetrieveLocationUID = location_uid
    return item


def _request(study_uid: str, accession: str) -> Dataset:
    item = Dataset()
    item.AccessionNumber = accession
    item.StudyInstanceUID = study_uid
    item.RequestedProcedureID = accession
    return item


def _image(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "IMAGE"
    item.ReferencedSOPSequence = DicomSequence([_reference(sop_class, sop_instance)])
    return item


def _reference(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item
