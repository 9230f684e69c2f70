"""The radiologists' pages: search, a patient's outside priors with their fetches, the history.

Each view reads through selectors and writes through services; the patient is always one of the
radiologist's own organisation's MRNs, so a URL naming another site's MRN is not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from imaging.prefetch.priors import destination_of, outside_priors
from imaging.prefetch.rules import relevant, rules_for
from imaging.prefetch.types import PriorStudy
from imaging.web import selectors, services
from imaging.web.access import radiologist_required
from imaging.web.selectors import Patient
from organisations.models import Member


@dataclass(frozen=True)
class PriorRow:
    """One line of the priors table."""

    prior: PriorStudy
    date: str  # YYYY-MM-DD, or "" when unknown
    relevant: bool
    fetching: bool  # queued or moving in an unfinished job


@require_GET
@radiologist_required
def search(request: HttpRequest, member: Member) -> HttpResponse:
    text = request.GET.get("q", "").strip()
    found = selectors.patients_search(organisation=member.organisation, text=text) if text else []
    return render(request, "imaging/priors/search.html",
                  {"member": member, "q": text, "patients": found, "searched": bool(text)})


@require_GET
@radiologist_required
def patient(request: HttpRequest, member: Member, record_id: int) -> HttpResponse:
    found = _patient(member, record_id)
    priors = _priors(member, found)
    modality = selectors.latest_order_modality(organisation=member.organisation, patient=found)
    chosen = {p.study_instance_uid for p in relevant(
        priors, rules_for(member.organisation), order_modality=modality, today=timezone.localdate())}
    services.priors_viewed(member=member, patient=found, priors=priors,
                           raw_query=request.get_full_path().encode(), host=_host(request))
    jobs = [(job, [(s, selectors.study_progress(s)) for s in job.studies.all()])
            for job in selectors.patient_jobs(organisation=member.organisation, patient=found)]
    fetching = {s.study_instance_uid for _, studies in jobs for s, p in studies if not p["finished"]}
    return render(request, "imaging/priors/patient.html", {
        "member": member, "patient": found, "order_modality": modality,
        "rows": [PriorRow(prior=p, date=_date(p.study_date), relevant=p.study_instance_uid in chosen,
                          fetching=p.study_instance_uid in fetching) for p in priors],
        "fetchable_relevant": any(not p.already_here and p.study_instance_uid in chosen - fetching
                                  for p in priors),
        "jobs": jobs,
        "destination": destination_of(member.organisation)})


@require_POST
@radiologist_required
def fetch(request: HttpRequest, member: Member, record_id: int) -> HttpResponse:
    found = _patient(member, record_id)
    try:
        job = services.priors_fetch(
            member=member, patient=found, priors=_priors(member, found),
            study_uids=request.POST.getlist("study"), relevant_only="relevant" in request.POST,
            order_modality=selectors.latest_order_modality(organisation=member.organisation,
                                                           patient=found),
            today=timezone.localdate())
    except services.FetchError as problem:
        messages.error(request, str(problem))
    else:
        count = job.studies.count()
        messages.success(request, f"Fetching {count} stud{'y' if count == 1 else 'ies'} into "
                                  f"{member.organisation.name}'s PACS ({job.destination.ae_title})."
                         if count else job.reason.capitalize() + ".")
    return redirect(reverse("priors:patient", args=[record_id]) + "#progress")


@require_GET
@radiologist_required
def progress(request: HttpRequest, member: Member, record_id: int) -> JsonResponse:
    found = _patient(member, record_id)
    jobs = selectors.patient_jobs(organisation=member.organisation, patient=found)
    return JsonResponse({
        "jobs": [{"id": j.pk, "status": j.status, "reason": j.reason,
                  "finished": j.status in j.FINISHED} for j in jobs],
        "studies": selectors.progress(organisation=member.organisation, job_ids=[j.pk for j in jobs])})


@require_GET
@radiologist_required
def history(request: HttpRequest, member: Member) -> HttpResponse:
    jobs = selectors.history(organisation=member.organisation)
    return render(request, "imaging/priors/history.html", {
        "member": member,
        "jobs": [(job, [(s, selectors.study_progress(s)) for s in job.studies.all()]) for job in jobs]})


def _patient(member: Member, record_id: int) -> Patient:
    found = selectors.patient_get(organisation=member.organisation, record_id=record_id)
    if found is None:
        raise Http404("No patient of your organisation has this record.")
    return found


def _priors(member: Member, found: Patient) -> list[PriorStudy]:
    return outside_priors(authority=found.authority, identifier=found.mrn,
                          organisation=member.organisation,
                          check_destination=destination_of(member.organisation))


def _date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else ""


def _host(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))
