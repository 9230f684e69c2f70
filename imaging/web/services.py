"""Writes of the radiologists' pages: a patient's priors looked at (audited), priors fetched.

    FetchError          the fetch cannot start; its text is for the radiologist to read
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from django.db import transaction

from audit import services as audit
from audit.events import Peer, query, this_node
from imaging.prefetch import services as prefetch
from imaging.prefetch.models import PrefetchJob
from imaging.prefetch.priors import destination_of, patient_identities
from imaging.prefetch.rules import relevant, rules_for
from imaging.prefetch.types import PriorStudy
from imaging.web.selectors import Patient
from organisations.models import Member

RECEIVER = "HIENODE|PRIORS"


class FetchError(Exception):
    """The fetch cannot start."""


def priors_viewed(*, member: Member, patient: Patient, priors: Sequence[PriorStudy],
                  raw_query: bytes, host: str) -> None:
    """The list of a patient's outside priors was shown to a radiologist: audited as the
    registry query behind it (ITI TF-2a 3.18.5.1, PS3.15 A.5.3.10), the radiologist as the
    human requestor."""
    identities = patient_identities(authority=patient.authority, identifier=patient.mrn)
    patient_ids = [f"{patient.mrn}^^^{patient.authority.cx4}"]
    if identities is not None:
        patient_ids.append(identities.enterprise_id)
    user = member.user
    with transaction.atomic():
        audit.record(query(
            transaction="ITI-18", sender=Peer(user_id=user.get_username(), host=host),
            receiver=this_node(RECEIVER), raw_query=raw_query, patient_ids=patient_ids,
            human_requestor=Peer(user_id=user.get_username(), host=host,
                                 user_name=user.get_full_name() or user.get_username()),
            outcome_description=f"{len(priors)} outside priors"), organisation=member.organisation.code)


def priors_fetch(*, member: Member, patient: Patient, priors: Sequence[PriorStudy],
                 study_uids: Collection[str] = (), relevant_only: bool = False,
                 order_modality: str = "", today: date) -> PrefetchJob:
    """A job bringing the chosen priors (those of `study_uids`, or the relevant ones by the
    organisation's rules) to the organisation's PACS, run ahead of routine prefetching because
    a radiologist is waiting for it."""
    organisation = member.organisation
    destination = destination_of(organisation)
    if destination is None:
        raise FetchError(f"{organisation.name} has no PACS configured to receive studies; "
                         "ask the exchange's operators to set one up.")
    identities = patient_identities(authority=patient.authority, identifier=patient.mrn)
    if identities is None:
        raise FetchError("The exchange no longer knows this patient's MRN.")
    if relevant_only:
        chosen = relevant(priors, rules_for(organisation), order_modality=order_modality, today=today)
    else:
        chosen = [p for p in priors if p.study_instance_uid in set(study_uids)]
    chosen = [p for p in chosen if not p.already_here]
    if not chosen:
        raise FetchError("Nothing to fetch: the studies asked for are here already or no longer listed.")
    return prefetch.job_create(
        organisation=organisation, destination=destination, patient_authority=patient.authority,
        patient_identifier=patient.mrn, enterprise_id=identities.enterprise_id, studies=chosen,
        trigger=PrefetchJob.RADIOLOGIST, priority=PrefetchJob.STAT,
        requested_by=member.user.get_username(), order_modality=order_modality)
