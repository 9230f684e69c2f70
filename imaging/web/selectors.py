"""Reads of the radiologists' pages: who may use them, their organisation's patients, the jobs."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from empi.matching.record import name
from empi.models import PatientRecord
from imaging.prefetch.models import PrefetchJob, PrefetchStudy
from organisations.models import AssigningAuthority, Member, Organisation
from organisations.roles import RADIOLOGIST

MAX_HITS = 50


@dataclass(frozen=True)
class Patient:
    """A patient as the radiologist's organisation knows them: its MRN and its demographics.

    The pages name the patient by `record_id` (the EMPI record's key): an MRN in a URL would
    end up in the access log."""

    record_id: int
    authority: AssigningAuthority
    mrn: str
    family: str
    given: str
    birth_date: str  # YYYYMMDD
    sex: str


def radiologist_member(user: AbstractBaseUser | AnonymousUser) -> Member | None:
    """The user's membership, when they hold the radiologist role and their organisation is active."""
    if not user.is_authenticated or not user.is_active:
        return None
    return (Member.objects.select_related("organisation", "user")
            .filter(user_id=user.pk, organisation__active=True, user__groups__name=RADIOLOGIST)
            .first())


def own_authorities(organisation: Organisation) -> list[AssigningAuthority]:
    """The authorities whose MRNs the organisation issues (never the affinity domain's)."""
    return list(organisation.assigning_authorities.filter(is_affinity_domain=False).order_by("pk"))


def patients_search(*, organisation: Organisation, text: str) -> list[Patient]:
    """The organisation's patients whose MRN is `text`, or whose name it is: `family`,
    `family, given`, each part ending in `*` for a prefix. Only the organisation's own records
    are read, so another site's MRNs and demographics never show."""
    text = text.strip()
    if not text:
        return []
    records = _current(organisation)
    condition = Q(identifier=text)
    family, _, given = (part.strip() for part in text.partition(","))
    if name(family.rstrip("*")):
        by_name = _name("family", family)
        if given and name(given.rstrip("*")):
            by_name &= _name("given", given)
        condition |= by_name
    found = records.filter(condition).order_by("family", "given", "identifier")[:MAX_HITS]
    return [_patient(r) for r in found]


def patient_get(*, organisation: Organisation, record_id: int) -> Patient | None:
    """The patient of a current record of one of the organisation's MRNs; None for any other."""
    record = _current(organisation).filter(pk=record_id).first()
    return _patient(record) if record else None


def latest_order_modality(*, organisation: Organisation, patient: Patient) -> str:
    """The modality of the patient's newest order at the organisation (RAD-4), "" without one."""
    return (PrefetchJob.objects.filter(
        organisation=organisation, trigger=PrefetchJob.ORDER, patient_authority=patient.authority,
        patient_identifier=patient.mrn).exclude(order_modality="")
        .order_by("-created_at").values_list("order_modality", flat=True).first()) or ""


def patient_jobs(*, organisation: Organisation, patient: Patient, limit: int = 20) -> list[PrefetchJob]:
    """The patient's jobs at the organisation, newest first, with their studies."""
    return list(_jobs(organisation).filter(patient_authority=patient.authority,
                                           patient_identifier=patient.mrn)[:limit])


def history(*, organisation: Organisation, limit: int = 100) -> list[PrefetchJob]:
    """What the organisation fetched, by every trigger, newest first."""
    return list(_jobs(organisation)[:limit])


def progress(*, organisation: Organisation, job_ids: list[int]) -> list[dict[str, object]]:
    """Each study of the organisation's jobs `job_ids`, as the page's progress bars read it."""
    studies = (PrefetchStudy.objects.filter(job__organisation=organisation, job_id__in=job_ids)
               .order_by("job_id", "pk"))
    return [study_progress(s) for s in studies]


def study_progress(study: PrefetchStudy) -> dict[str, object]:
    """One study's transfer as its progress bar shows it."""
    # PS3.4 C.4.2.1.4: completed and warning sub-operations stored an instance; failed did not.
    stored = study.completed + study.warning
    processed = stored + study.failed
    total = max(study.expected, processed)
    finished = study.status in PrefetchStudy.FINISHED
    if study.status == PrefetchStudy.PRESENT or (study.status == PrefetchStudy.DONE and not total):
        percent = 100  # there already, or a study its source counted no instances of
    else:
        percent = min(100, round(100 * processed / total)) if total else 0
    return {"id": study.pk, "job": study.job_id, "uid": study.study_instance_uid,
            "status": study.status, "stored": stored, "failed": study.failed, "total": total,
            "percent": percent, "error": study.error, "finished": finished}


def _jobs(organisation: Organisation) -> QuerySet[PrefetchJob]:
    return (PrefetchJob.objects.filter(organisation=organisation)
            .select_related("patient_authority", "destination")
            .prefetch_related("studies__site").order_by("-created_at", "-pk"))


def _current(organisation: Organisation) -> QuerySet[PatientRecord]:
    return PatientRecord.objects.select_related("authority").filter(
        authority__in=own_authorities(organisation), merged_into__isnull=True)


def _name(column: str, value: str) -> Q:
    # The records hold names as the matcher normalised them (case and accents folded).
    if value.endswith("*"):
        return Q(**{f"{column}__startswith": name(value.rstrip("*"))})
    return Q(**{column: name(value)})


def _patient(record: PatientRecord) -> Patient:
    return Patient(record_id=record.pk, authority=record.authority, mrn=record.identifier,
                   family=record.family, given=record.given, birth_date=record.birth_date,
                   sex=record.sex)
