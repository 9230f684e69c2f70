"""Protocol handler: ITI-65 Provide Document Bundle (MHD 4.2 ITI TF-2 3.65), the MHD Document
Recipient grouped with the XDS Repository and Registry.

The Bundle is checked, mapped onto the SubmitObjectsRequest an ITI-41 would carry
(fhir_api.mhd.to_ebrim) and then takes ITI-41's path exactly: the repository completes size,
hash and repositoryUniqueId, the registry reads the metadata, inspectors look at the documents
(a KOS manifest is indexed as by RAD-68) and one service stores and registers all or nothing.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pydantic
from django.conf import settings
from fhir.resources.R4B import get_fhir_model_class

from audit import services as audit_services
from audit.edges import not_theirs
from audit.events import import_
from fhir_api import audit
from fhir_api.errors import FhirError, bad_request
from fhir_api.mhd.to_ebrim import BundleEntry, Provided, submission_build
from fhir_api.request import FhirRequest, FhirResponse
from registry import errors as registry_errors
from registry.ebrim.read import NotASubmission, read_submission
from registry.errors import RegistryErrors
from registry.metadata import Submission
from registry.validation.provenance import foreign_source_patients
from repository import errors as repository_errors
from repository import services
from repository.handlers.wire import metadata_complete
from repository.inspection import documents_inspect
from repository.services import Content

SERIOUS_FAILURE = 8  # PS3.15 A.5.1 EventOutcomeIndicator
# ITI TF-3 Table 4.2.4.1-2: the codes that say the metadata itself is wrong.
_METADATA_ERRORS = (registry_errors.METADATA_ERROR, repository_errors.METADATA_ERROR)


def provide_document_bundle(request: FhirRequest) -> FhirResponse:
    entries = _entries(request.body)
    paths: dict[str, Path] = {}
    submission: Submission | None = None
    try:
        provided = submission_build(entries=entries, base=request.base,
                                    now=datetime.now(UTC).strftime("%Y%m%d%H%M%S"))
        contents = _written(provided, paths)
        metadata_complete(provided.submit, contents)
        try:
            submission = read_submission(provided.submit)
        except NotASubmission as exc:  # the builder writes one; kept for ITI-41's symmetry
            raise bad_request(f"ITI-65: {exc}") from None
        _refuse_foreign_sources(request, submission)
        inspections = documents_inspect([(entry, paths[entry.entry_uuid]) for entry in submission.documents
                                         if entry.entry_uuid in paths])
        services.document_set_provide(
            submission=submission, contents=contents, inspections=inspections, transaction_name="ITI-65",
            source=request.client.client_id, source_host=request.client.host, destination=request.base)
    except RegistryErrors as refused:
        _refusal_record(request, submission, refused)
        raise _unprocessable(refused) from None
    finally:
        for path in paths.values():
            path.unlink(missing_ok=True)
    return FhirResponse(status=200, resource=_transaction_response(request.base, provided))


def _entries(body: Any) -> list[BundleEntry]:
    """MHD 4.2 ITI TF-2 3.65.4.1.2: a transaction Bundle whose entries each have a fullUrl and a
    resource that FHIR R4 reads."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise bad_request("ITI-65 takes a Bundle", expression="Bundle")
    if body.get("type") != "transaction":
        raise bad_request(f"ITI-65 takes a Bundle of type transaction, not {body.get('type')!r}",
                          expression="Bundle.type")
    raw = body.get("entry")
    if not isinstance(raw, list) or not raw:
        raise bad_request("the Bundle has no entry", expression="Bundle.entry")
    entries: list[BundleEntry] = []
    seen: set[str] = set()
    for position, item in enumerate(raw):
        where = f"Bundle.entry[{position}]"
        resource = item.get("resource") if isinstance(item, dict) else None
        full_url = item.get("fullUrl", "") if isinstance(item, dict) else ""
        if not isinstance(full_url, str) or not full_url:
            raise bad_request(f"{where} has no fullUrl", expression=f"{where}.fullUrl")
        if full_url in seen:
            raise bad_request(f"{where}: two entries have the fullUrl {full_url!r}",
                              expression=f"{where}.fullUrl")
        seen.add(full_url)
        if not isinstance(resource, dict):
            raise bad_request(f"{where} has no resource", expression=f"{where}.resource")
        request = item.get("request")
        method = request.get("method", "POST") if isinstance(request, dict) else "POST"
        if method != "POST":
            raise bad_request(f"{where}: ITI-65 creates resources (request.method POST), not {method}",
                              expression=f"{where}.request.method")
        _check_model(resource, where)
        entries.append(BundleEntry(position=position, full_url=full_url, resource=resource))
    return entries


def _check_model(resource: dict[str, Any], where: str) -> None:
    """The resource as FHIR R4 (fhir.resources' R4B models) reads it: a structural error is 400."""
    try:
        model = get_fhir_model_class(str(resource.get("resourceType", "")))
    except (KeyError, ValueError):
        raise bad_request(f"{where}: {resource.get('resourceType')!r} is not a FHIR resource type",
                          expression=f"{where}.resource") from None
    try:
        model.model_validate(resource)
    except pydantic.ValidationError as exc:
        # The location and the message only: never the value, which may be a patient's data.
        found = exc.errors(include_input=False, include_url=False)[:3]
        said = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in found)
        raise bad_request(f"{where}: the {resource['resourceType']} is not valid FHIR R4: {said}",
                          expression=f"{where}.resource") from None
    except (KeyError, TypeError):
        # fhir.resources raises these, not a ValidationError, for a contained resource whose
        # resourceType is not a FHIR type (or not a string).
        raise bad_request(f"{where}: the {resource['resourceType']} is not valid FHIR R4: a resource "
                          "in it has no FHIR resourceType", expression=f"{where}.resource") from None


def _written(provided: Provided, paths: dict[str, Path]) -> dict[str, Content]:
    """Each document's bytes in a temporary file, measured, by its DocumentEntry's entryUUID."""
    folder = Path(settings.SOAP_TEMP_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    contents: dict[str, Content] = {}
    for entry_uuid, data in provided.documents.items():
        with tempfile.NamedTemporaryFile(dir=folder, prefix="iti65-", delete=False) as file:
            file.write(data)
        path = Path(file.name)
        paths[entry_uuid] = path
        contents[entry_uuid] = Content(open=_opener(path), size=len(data),
                                       sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest())
    return contents


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


def _refusal_record(request: FhirRequest, submission: Submission | None, refused: RegistryErrors) -> None:
    """Nothing was kept: the refusal is recorded on its own, with the patient (ITI TF-2 3.65.5.1)."""
    package = submission.submission_set if submission else None
    audit_services.record_alone(import_(
        transaction="ITI-65", sender=audit.sender(request), receiver=audit.receiver(request),
        patient_id=package.patient_id if package else "",
        submission_set_unique_id=package.unique_id if package else "", outcome=SERIOUS_FAILURE,
        outcome_description="; ".join(e.code for e in refused.errors)[:1024]),
        organisation=request.client.organisation)


def _refuse_foreign_sources(request: FhirRequest, submission: Submission) -> None:
    """The OAuth client's organisation submits under its own patient IDs only (as ITI-41 over
    HTTPS, registry.validation.provenance): another's is 403, an Import failure and an alert."""
    refused = foreign_source_patients(submission=submission, organisation=request.client.organisation)
    if not refused:
        return
    _refusal_record(request, submission, RegistryErrors(refused))
    not_theirs(transaction="ITI-65", organisation=request.client.organisation,
               performer=audit.sender(request), detail=refused[0].context)
    raise FhirError(403, refused[0].context, code="forbidden", audited=True,
                    expression="DocumentReference.context.sourcePatientInfo")


def _unprocessable(refused: RegistryErrors) -> FhirError:
    """MHD 4.2 ITI TF-2 3.65.4.2.3: 422 with one issue per XDS error, its code as details."""
    issues: list[dict[str, Any]] = [{"severity": "error" if e.is_error else "warning",
               "code": "invalid" if e.code in _METADATA_ERRORS else "business-rule",
               "details": {"coding": [{"code": e.code}], "text": e.code},
               "diagnostics": e.context} for e in refused.errors]
    said = "; ".join(f"{e.code}: {e.context}" for e in refused.errors)
    return FhirError(422, said, code=str(issues[0]["code"]) if issues else "business-rule",
                     issues=issues, audited=True)


def _transaction_response(base: str, provided: Provided) -> dict[str, Any]:
    """MHD 4.2 ITI TF-2 3.65.4.2.2: one entry per request entry, each created, in their order."""
    return {"resourceType": "Bundle", "type": "transaction-response",
            "entry": [{"response": {"status": "201 Created", "location": f"{base}/{location}"}}
                      for location in provided.locations]}
