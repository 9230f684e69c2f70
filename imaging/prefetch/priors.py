"""Selectors: a patient's outside priors, from the registered KOS manifests and from C-FIND at the
other sites' PACS.

The patient comes as the asking site knows them (its MRN); PIX gives the enterprise ID and every
MRN linked to it. The manifests are found as FindDocuments would find them (ITI TF-2a
3.18.4.1.2.3.7.1: the enterprise ID with the IDs merged into it, Approved only, formatCode the KOS
SOP class, RAD TF-3 4.68.4.1.2.3.2); their indexed references say what each study is and which
PACS holds it. Each other site's query/retrieve source is asked by that site's own MRNs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from django.conf import settings

from empi import selectors as empi
from imaging.dicom import find
from imaging.kos.check import KOS_FORMAT_CODE, KOS_FORMAT_SCHEME
from imaging.kos.selectors import studies_for_patients
from imaging.models import DicomNode, ManifestSeries
from imaging.prefetch.types import PriorStudy
from organisations.models import AssigningAuthority, Organisation
from registry import selectors as registry
from registry.models import APPROVED

logger = logging.getLogger(__name__)

# A patient with more manifests than this is cut short; the list is for one radiologist.
MAX_MANIFESTS = 1000
FIND_TIMEOUT = 10.0  # seconds per association: a WAN link that is slower is skipped
MAX_PARALLEL_FINDS = 8


@dataclass(frozen=True)
class PatientIdentities:
    """A patient as PIX knows them: the enterprise ID (CX) and every current MRN."""

    enterprise_id: str
    mrns: tuple[tuple[AssigningAuthority, str], ...]


def patient_identities(*, authority: AssigningAuthority, identifier: str) -> PatientIdentities | None:
    """PIX (ITI TF-2a 3.9.4.2.2.6) for one MRN; None when the EMPI does not know it."""
    if not empi.identifier_known(authority=authority, identifier=identifier):
        return None
    enterprise = ""
    mrns: list[tuple[AssigningAuthority, str]] = []
    if not authority.is_affinity_domain:
        mrns.append((authority, identifier))
    else:
        enterprise = _cx(authority, identifier)
    for other, value in empi.cross_references(authority=authority, identifier=identifier):
        if other.is_affinity_domain:
            enterprise = _cx(other, value)
        else:
            mrns.append((other, value))
    return PatientIdentities(enterprise_id=enterprise, mrns=tuple(mrns)) if enterprise else None


def outside_priors(*, authority: AssigningAuthority, identifier: str, organisation: Organisation,
                   check_destination: DicomNode | None = None,
                   exclude_study_uids: Sequence[str] = ()) -> list[PriorStudy]:
    """The patient's studies held by other organisations than `organisation`, newest first.

    A source that does not answer is left out with a warning. With `check_destination`, each
    study is counted there (C-FIND) and `already_here` says whether it has arrived.
    """
    identities = patient_identities(authority=authority, identifier=identifier)
    if identities is None:
        return []
    nodes = list(DicomNode.objects.filter(active=True).select_related("organisation"))
    found = {p.study_instance_uid: p for p in _from_manifests(identities.enterprise_id, nodes)}
    for match, node in _from_sources(identities, organisation, nodes):
        known = found.get(match.study_instance_uid)
        if known is None:
            found[match.study_instance_uid] = _prior(match, node)
        elif not known.body_part and match.body_part:
            # Manifests carry no Body Part Examined; the PACS that holds the study does.
            found[match.study_instance_uid] = replace(known, body_part=match.body_part)
    excluded = set(exclude_study_uids)
    priors = [p for p in found.values()
              if p.site_id != organisation.pk and p.study_instance_uid not in excluded]
    if check_destination is not None and priors:
        priors = _checked(priors, check_destination)
    return sorted(priors, key=lambda p: (p.study_date, p.study_instance_uid), reverse=True)


def destination_of(organisation: Organisation) -> DicomNode | None:
    """The organisation's PACS the priors go to: its active move destination."""
    return (DicomNode.objects.filter(organisation=organisation, is_destination=True, active=True)
            .order_by("pk").first())


def _from_manifests(enterprise_id: str, nodes: Sequence[DicomNode]) -> list[PriorStudy]:
    entries = registry.document_entries(registry.DocumentFilter(
        patient_id=enterprise_id, statuses=[APPROVED],
        codes={"format": [(KOS_FORMAT_CODE, KOS_FORMAT_SCHEME)]}), leaf=False, limit=MAX_MANIFESTS)
    approved = {e.entry_uuid for e in entries}
    if not approved:
        return []
    by_title = {n.ae_title: n for n in nodes}
    by_location = {n.retrieve_location_uid: n for n in nodes if n.retrieve_location_uid}
    # RAD TF-3 4.69.4.1.2: a series names its PACS by Retrieve Location UID, else by AE title.
    holders: dict[tuple[str, str], DicomNode] = {}
    for entry_uuid, study_uid, title, location in (
            ManifestSeries.objects.filter(study__document_entry_uuid__in=approved)
            .values_list("study__document_entry_uuid", "study__study_instance_uid",
                         "retrieve_ae_title", "retrieve_location_uid").order_by("pk")):
        node = by_location.get(location) or by_title.get(title)
        if node is not None:
            holders.setdefault((entry_uuid, study_uid), node)
    priors: dict[str, PriorStudy] = {}
    for study in studies_for_patients(sorted({e.patient_id for e in entries})):
        node = holders.get((study.document_entry_uuid, study.study_instance_uid))
        if study.document_entry_uuid not in approved:
            continue
        if node is None:
            logger.warning("Study %s of manifest %s names no DICOM node configured here",
                           study.study_instance_uid, study.document_unique_id)
            continue
        # Several manifests may reference one study: the newest one's row comes first.
        priors.setdefault(study.study_instance_uid, PriorStudy(
            study_instance_uid=study.study_instance_uid, study_date=study.study_date,
            modalities=study.modalities, description=study.study_description, body_part="",
            site_id=node.organisation_id, site_name=node.organisation.name, source_id=node.pk,
            instances=study.instance_count, accession_number=study.accession_number))
    return list(priors.values())


def _from_sources(identities: PatientIdentities, organisation: Organisation,
                  nodes: Sequence[DicomNode]) -> list[tuple[find.StudyMatch, DicomNode]]:
    """PS3.4 C.4.1: each other site's source asked by the MRNs of that site's authorities."""
    asks = [(node, authority, mrn) for node in nodes
            if node.is_source and node.organisation_id != organisation.pk
            for authority, mrn in identities.mrns if authority.organisation_id == node.organisation_id]
    if not asks:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_FINDS, len(asks))) as pool:
        answers = list(pool.map(lambda ask: _ask(*ask), asks))
    return [(match, node) for (node, _, _), matches in zip(asks, answers, strict=True)
            for match in matches if match.study_instance_uid]


def _ask(node: DicomNode, authority: AssigningAuthority, mrn: str) -> list[find.StudyMatch]:
    try:
        return find.patient_studies(peer=_peer(node), calling_ae=settings.DICOM_AE_TITLE,
                                    patient_id=mrn, issuer=_issuer(authority), timeout=FIND_TIMEOUT)
    except (find.FindError, OSError) as problem:
        logger.warning("C-FIND at %s skipped: %s", node.ae_title, problem)
        return []


def _checked(priors: list[PriorStudy], destination: DicomNode) -> list[PriorStudy]:
    try:
        counts = find.study_counts(peer=_peer(destination), calling_ae=settings.DICOM_AE_TITLE,
                                   study_uids=[p.study_instance_uid for p in priors],
                                   timeout=FIND_TIMEOUT)
    except (find.FindError, OSError) as problem:
        logger.warning("C-FIND at destination %s skipped: %s", destination.ae_title, problem)
        return priors
    # A study is here once the destination holds as many instances as its source (any, when
    # the source's count is unknown).
    return [replace(p, already_here=counts.get(p.study_instance_uid, 0) >= max(p.instances, 1))
            for p in priors]


def _prior(match: find.StudyMatch, node: DicomNode) -> PriorStudy:
    return PriorStudy(
        study_instance_uid=match.study_instance_uid, study_date=match.study_date,
        modalities=match.modalities, description=match.description, body_part=match.body_part,
        site_id=node.organisation_id, site_name=node.organisation.name, source_id=node.pk,
        instances=match.instances, accession_number=match.accession_number)


def _peer(node: DicomNode) -> find.Peer:
    return find.Peer(ae_title=node.ae_title, host=node.host, port=node.port, tls=node.tls)


def _issuer(authority: AssigningAuthority) -> str:
    # Issuer of Patient ID (0010,0021) is LO: the authority's namespace, as HL7 CX-4.1 names it
    # (RAD TF-2 4.4 maps PID-3's CX-4 to it), or its OID when it has no namespace.
    return authority.namespace_id or authority.universal_id


def _cx(authority: AssigningAuthority, identifier: str) -> str:
    return f"{identifier}^^^&{authority.universal_id}&{authority.universal_id_type}"
