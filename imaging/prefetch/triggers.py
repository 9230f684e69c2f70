"""What starts and stops prefetch jobs on a site's behalf: an order placed or cancelled (HL7 v2,
RAD TF-2 4.4), and a new study arriving at the node's storage SCP from the site's PACS.

Either way the patient is the one the site knows by its MRN; the priors are found and the
site's relevant-prior rules applied as for the radiologist's list, and the job moves them to
the site's PACS.

    TriggerError          the request cannot start a job
     ├── UnknownPatient   the EMPI does not know the MRN
     └── NoDestination    the site has no PACS configured as a move destination
"""

from __future__ import annotations

import logging
from datetime import date

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from audit.events import Peer, query, this_node
from empi import selectors as empi
from imaging.models import DicomNode
from imaging.prefetch import services
from imaging.prefetch.models import PrefetchJob
from imaging.prefetch.priors import destination_of, outside_priors, patient_identities
from imaging.prefetch.rules import relevant, rules_for
from organisations.models import AssigningAuthority, Organisation

logger = logging.getLogger(__name__)

RECEIVER = "HIENODE|PREFETCH"


class TriggerError(Exception):
    """The request cannot start a job."""


class UnknownPatient(TriggerError):
    """No current record of the MRN (unknown, or merged away)."""


class NoDestination(TriggerError):
    """The site has no active DICOM node with `is_destination`."""


def order_prefetch(*, authority: AssigningAuthority, identifier: str, order_reference: str,
                   order_modality: str, stat: bool, requested_by: str, raw_order: bytes,
                   today: date | None = None) -> PrefetchJob | None:
    """The job bringing the relevant outside priors of an order's patient to the ordering site's
    PACS; None when no prior is relevant. The site is the one whose authority issued the MRN."""
    organisation, destination, enterprise_id = _site_and_patient(authority, identifier)
    priors = outside_priors(authority=authority, identifier=identifier, organisation=organisation,
                            check_destination=destination)
    chosen = relevant(priors, rules_for(organisation), order_modality=order_modality,
                      today=today or timezone.localdate())
    with transaction.atomic():
        job = None
        if chosen:
            job = services.job_create(
                organisation=organisation, destination=destination, patient_authority=authority,
                patient_identifier=identifier, enterprise_id=enterprise_id, studies=chosen,
                trigger=PrefetchJob.ORDER,
                priority=PrefetchJob.STAT if stat else PrefetchJob.ROUTINE,
                requested_by=requested_by, order_reference=order_reference,
                order_modality=order_modality)
        # The order made the node look the patient's manifests up in its registry: audited as
        # that query (ITI TF-2a 3.18.5.1, PS3.15 A.5.3.10), the order's segments as its content.
        # There is no audit event for an order received (RAD TF-2 4.4 defines none for the
        # Image Manager), and the job's moves are audited as they happen.
        audit.record(query(
            transaction="ITI-18", sender=Peer(user_id=requested_by), receiver=this_node(RECEIVER),
            raw_query=raw_order, patient_ids=[f"{identifier}^^^{authority.cx4}", enterprise_id]),
            organisation=organisation.code)
    return job


def order_cancel(*, authority: AssigningAuthority, order_reference: str, requested_by: str) -> int:
    """ORC-1 CA (RAD TF-2 4.4): the order's unfinished jobs are cancelled; how many."""
    cancelled = 0
    jobs = PrefetchJob.objects.filter(
        organisation=authority.organisation_id, trigger=PrefetchJob.ORDER, order_reference=order_reference,
        patient_authority=authority).exclude(status__in=PrefetchJob.FINISHED).order_by("pk")
    for job in jobs:
        try:
            services.job_cancel(job=job, actor=requested_by)
            cancelled += 1
        except services.PrefetchError:
            pass  # it finished in the meantime
    return cancelled


def study_prefetch(*, calling_ae: str, patient_id: str, issuer: str, study_uid: str, modality: str,
                   accession_number: str = "", today: date | None = None) -> PrefetchJob | None:
    """A study of `patient_id` arrived from the PACS `calling_ae`: its site's relevant priors (the
    arriving study left out) are brought to the site's destination. None when the AE title is
    no PACS of an organisation here, the patient is unknown, or no prior is relevant."""
    node = DicomNode.objects.select_related("organisation").filter(ae_title=calling_ae, active=True).first()
    if node is None:
        logger.info("Study %s from %s: not a DICOM node of any organisation", study_uid, calling_ae)
        return None
    authority = _authority(node.organisation, issuer)
    if authority is None:
        logger.warning("Study %s from %s: its Issuer of Patient ID is not an authority of %s",
                       study_uid, calling_ae, node.organisation.code)
        return None
    reference = accession_number or study_uid
    if PrefetchJob.objects.filter(organisation=node.organisation, trigger=PrefetchJob.STUDY,
                                  patient_authority=authority, patient_identifier=patient_id,
                                  order_reference=reference).exists():
        return None  # another instance of the study got here first
    try:
        organisation, destination, enterprise_id = _site_and_patient(authority, patient_id)
    except TriggerError as problem:
        logger.warning("Study %s from %s: %s", study_uid, calling_ae, type(problem).__name__)
        return None
    priors = outside_priors(authority=authority, identifier=patient_id, organisation=organisation,
                            check_destination=destination, exclude_study_uids=[study_uid])
    chosen = relevant(priors, rules_for(organisation), order_modality=modality,
                      today=today or timezone.localdate())
    if not chosen:
        return None
    return services.job_create(
        organisation=organisation, destination=destination, patient_authority=authority,
        patient_identifier=patient_id, enterprise_id=enterprise_id, studies=chosen,
        trigger=PrefetchJob.STUDY, priority=PrefetchJob.ROUTINE, requested_by=calling_ae,
        order_reference=reference, order_modality=modality)


@shared_task(name="imaging.prefetch.study_arrived", acks_late=True)
def study_arrived(calling_ae: str, patient_id: str, issuer: str, study_uid: str, modality: str,
                  accession_number: str = "") -> int | None:
    """Enqueued by the storage SCP, so that it answers the C-STORE at once."""
    job = study_prefetch(calling_ae=calling_ae, patient_id=patient_id, issuer=issuer,
                         study_uid=study_uid, modality=modality, accession_number=accession_number)
    return job.pk if job else None


def _site_and_patient(authority: AssigningAuthority, identifier: str
                      ) -> tuple[Organisation, DicomNode, str]:
    identities = patient_identities(authority=authority, identifier=identifier)
    organisation = authority.organisation
    if identities is None or organisation is None or authority.is_affinity_domain:
        raise UnknownPatient("the EMPI knows no current record of this MRN")
    destination = destination_of(organisation)
    if destination is None:
        raise NoDestination(f"{organisation.code} has no PACS configured as a move destination")
    return organisation, destination, identities.enterprise_id


def _authority(organisation: Organisation, issuer: str) -> AssigningAuthority | None:
    """Issuer of Patient ID (0010,0021) read as an authority's namespace or OID; without one,
    the site's only authority."""
    if issuer:
        found = (empi.authority_find(universal_id=issuer)
                 or empi.authority_find(namespace_id=issuer))
    else:
        own = list(organisation.assigning_authorities.all()[:2])
        found = own[0] if len(own) == 1 else None
    return found if found is not None and found.organisation_id == organisation.pk else None
