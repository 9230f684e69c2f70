"""DICOM query SCU: a patient's studies at a PACS by Study Root C-FIND at the STUDY level
(PS3.4 C.4.1, C.6.2.1), and a study's instances counted there.

    FindError              the PACS could not be asked, or refused the query
     └── PeerUnreachable   no association: refused, rejected, or nobody listening

Logs name AE titles and UIDs, never a patient attribute.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association

from lib.tls import client_context

logger = logging.getLogger(__name__)

# PS3.4 C.6.2.1: Study Root Query/Retrieve Information Model - FIND.
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
# PS3.4 C.4.1.1.4: Pending (0xFF01: an optional key was not supported) and Success.
_PENDING, _SUCCESS = (0xFF00, 0xFF01), 0x0000
# A PACS answering with more studies than this for one patient is cut short: the list is for
# a radiologist, and a broken matcher must not flood the node.
MAX_MATCHES = 1000


class FindError(Exception):
    """The PACS could not be asked, or answered with a failure status."""


class PeerUnreachable(FindError):
    """No association with the PACS."""


@dataclass(frozen=True)
class Peer:
    ae_title: str
    host: str
    port: int
    tls: bool = False  # PS3.15 B.1


@dataclass(frozen=True)
class StudyMatch:
    """One C-FIND response's identifier, as plain values."""

    study_instance_uid: str
    study_date: str
    modalities: tuple[str, ...]
    description: str
    accession_number: str
    body_part: str  # "" when the PACS does not return it
    instances: int  # NumberOfStudyRelatedInstances, 0 when not returned


def patient_studies(*, peer: Peer, calling_ae: str, patient_id: str, issuer: str = "",
                    timeout: float = 10) -> list[StudyMatch]:
    """The studies of `patient_id` (with Issuer of Patient ID when given) at `peer`."""
    if not patient_id:
        # An empty Patient ID is universal matching (PS3.4 C.2.2.2.3): every patient's studies.
        raise ValueError("a patient's studies are asked for by a Patient ID")
    query = _study_query()
    query.PatientID = patient_id
    query.IssuerOfPatientID = issuer
    with _association(peer, calling_ae, timeout) as assoc:
        return [_match(ds) for ds in _find(assoc, peer, query)]


def study_counts(*, peer: Peer, calling_ae: str, study_uids: Sequence[str],
                 timeout: float = 10) -> dict[str, int]:
    """How many instances `peer` holds of each study (0 when it has none), one association,
    one C-FIND per study by its unique key (PS3.4 C.4.1.2.1: single value matching)."""
    counts = dict.fromkeys(study_uids, 0)
    if not study_uids:
        return counts
    with _association(peer, calling_ae, timeout) as assoc:
        for uid in study_uids:
            query = _study_query()
            query.StudyInstanceUID = uid
            for ds in _find(assoc, peer, query):
                counts[uid] = max(counts[uid], _match(ds).instances or 1)
    return counts


def _study_query() -> Dataset:
    # PS3.4 C.6.2.1.2: the Study level's unique key, and the return keys the prior list shows.
    # BodyPartExamined is a series attribute; a PACS that answers it at the study level (Orthanc,
    # dcm4chee) gives what the relevant-prior rules need, one that does not leaves it empty.
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = ""
    query.StudyDate = ""
    query.StudyDescription = ""
    query.AccessionNumber = ""
    query.ModalitiesInStudy = ""
    query.NumberOfStudyRelatedInstances = ""
    query.BodyPartExamined = ""
    return query


class _association:
    """An association for C-FIND with `peer`, released on leaving."""

    def __init__(self, peer: Peer, calling_ae: str, timeout: float) -> None:
        self.peer, self.calling_ae, self.timeout = peer, calling_ae, timeout
        self.assoc: Association | None = None

    def __enter__(self) -> Association:
        ae = AE(ae_title=self.calling_ae)
        ae.add_requested_context(STUDY_ROOT_FIND)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        ae.connection_timeout = self.timeout
        tls = (_tls_context(), self.peer.host) if self.peer.tls else None
        assoc = ae.associate(self.peer.host, self.peer.port, ae_title=self.peer.ae_title, tls_args=tls)
        if not assoc.is_established:
            raise PeerUnreachable(f"no association with {self.peer.ae_title} at "
                                  f"{self.peer.host}:{self.peer.port}")
        self.assoc = assoc
        return assoc

    def __exit__(self, *exc: object) -> None:
        if self.assoc is not None and self.assoc.is_established:
            self.assoc.release()


def _find(assoc: Association, peer: Peer, query: Dataset) -> list[Dataset]:
    found: list[Dataset] = []
    for status, identifier in assoc.send_c_find(query, STUDY_ROOT_FIND):
        code = int(status.Status) if status is not None and "Status" in status else -1
        if code in _PENDING:
            if identifier is not None and len(found) < MAX_MATCHES:
                found.append(identifier)
            continue
        if code != _SUCCESS:
            # PS3.4 C.4.1.1.4: a failure or cancel ends the responses; -1: the association died.
            raise FindError(f"C-FIND at {peer.ae_title} ended with status 0x{code & 0xFFFF:04X}"
                            if code >= 0 else f"C-FIND at {peer.ae_title} got no answer")
    return found


def _match(ds: Dataset) -> StudyMatch:
    modalities = ds.get("ModalitiesInStudy", "")
    if isinstance(modalities, str):
        modalities = [m for m in modalities.split("\\") if m]
    try:
        instances = int(ds.get("NumberOfStudyRelatedInstances", 0) or 0)
    except (TypeError, ValueError):
        instances = 0
    return StudyMatch(
        study_instance_uid=str(ds.get("StudyInstanceUID", "")),
        study_date=str(ds.get("StudyDate", "") or ""),
        modalities=tuple(str(m).upper() for m in modalities if m),
        description=str(ds.get("StudyDescription", "") or ""),
        accession_number=str(ds.get("AccessionNumber", "") or ""),
        body_part=str(ds.get("BodyPartExamined", "") or "").upper(),
        instances=instances)


def _tls_context() -> ssl.SSLContext:
    if not settings.TLS_ENABLED:
        raise FindError("the DICOM node asks for TLS, and TLS_CERT_FILE, TLS_KEY_FILE and "
                        "TLS_CA_FILE are not all set")
    return client_context(ca_file=settings.TLS_CA_FILE, cert_file=settings.TLS_CERT_FILE,
                          key_file=settings.TLS_KEY_FILE)
