"""Domain: register a submission (ITI-42), make a patient ID known."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import IntegrityError, transaction

from audit import services as audit
from audit.events import Peer, import_, patient_record, this_node
from registry import errors, metadata, models
from registry.errors import RegistryError, RegistryErrors
from registry.validation import formats, validate_submission

# The single-valued codes are stored as ObjectCode rows too, so every code query is one join.
_DOCUMENT_CODES = ("class_code", "type_code", "format_code", "healthcare_facility_type_code",
                   "practice_setting_code")
_KINDS = {"class_code": "classCode", "type_code": "typeCode", "format_code": "formatCode",
          "healthcare_facility_type_code": "healthcareFacilityTypeCode",
          "practice_setting_code": "practiceSettingCode"}


def submission_register(*, submission: metadata.Submission, source: str, source_host: str = "",
                        destination: str = "", transaction_name: str = "ITI-42") -> list[RegistryError]:
    """ITI TF-2b 3.42.4.1.3: validate and store a submission, all or nothing, with its audit
    record (Import 110107). Raises RegistryErrors; returns the warnings of a success.

    `source` is the sender as ITI TF-2b 3.42.5.1 audits it (its wsa:ReplyTo), `source_host`
    its address, `destination` this endpoint's URI. `transaction_name` is what the audit record
    names: the repository registers its ITI-41 and RAD-68 submissions here, grouped with the
    registry, so no ITI-42 crosses the wire and the one record is of the transaction received.
    """
    try:
        with transaction.atomic():
            found = validate_submission(submission)
            if any(e.is_error for e in found):
                raise RegistryErrors(found)
            _store(submission)
            package = submission.submission_set
            assert package is not None  # validation made sure of it
            audit.record(import_(transaction=transaction_name, sender=Peer(user_id=source, host=source_host),
                                 receiver=this_node(destination), patient_id=package.patient_id,
                                 submission_set_unique_id=package.unique_id))
    except IntegrityError:
        # Another submission took a uniqueId or entryUUID between our checks and our writes.
        raise errors.error(errors.DUPLICATE_UNIQUE_ID_IN_REGISTRY, "a concurrent submission registered "
                           "one of these objects first; nothing was stored") from None
    return [e for e in found if not e.is_error]


def patient_identity_register(*, patient_id: str) -> models.PatientIdentity:
    """ITI TF-3 4.2.3.1.4: the Patient Identity Feed makes an affinity-domain patient ID known."""
    identity, _ = models.PatientIdentity.objects.get_or_create(patient_id=patient_id)
    return identity


def patient_identities_register(*, patient_ids: Sequence[str]) -> None:
    """Many patient IDs made known at once (an EMPI's initial load); those known already stay."""
    models.PatientIdentity.objects.bulk_create(
        [models.PatientIdentity(patient_id=patient_id) for patient_id in patient_ids],
        ignore_conflicts=True, batch_size=2_000)


def patient_identity_merge(*, subsumed: str, surviving: str) -> None:
    """A merge: the subsumed ID is no longer accepted; submissions name the surviving one.

    Only the identity is pointed at the survivor: documents keep the patientId they were
    registered with, and queries by the survivor cover the subsumed ID (registry.selectors).
    """
    with transaction.atomic():
        survivor = patient_identity_register(patient_id=surviving)
        merged = patient_identity_register(patient_id=subsumed)
        merged.merged_into = survivor
        merged.save(update_fields=["merged_into"])


def patient_identity_unmerge(*, subsumed: str, transaction_id: str = "ITI-8", source: str = "",
                             source_host: str = "", destination: str = "") -> str | None:
    """Undo a merge: the subsumed ID names its patient again, and queries by the ID it was
    merged into stop covering it. Returns that ID, or None when `subsumed` was not merged
    (a feed sent again changes nothing, and records nothing).

    Nothing but the identity changes: merging never rewrote a document's patientId, so the
    documents answer to their own ID again. IDs merged into `subsumed` stay with it. Audited as
    a Patient Record update (110110, action U) naming both patients, in the same transaction;
    `transaction_id` is the feed that asked (ITI-8 by default), the other arguments are
    submission_register's. Raises RegistryErrors XDSUnknownPatientId for an ID never fed.
    """
    with transaction.atomic():
        identity = models.PatientIdentity.objects.select_for_update().filter(patient_id=subsumed).first()
        if identity is None:
            raise errors.error(errors.UNKNOWN_PATIENT_ID, "the patient ID to unmerge is not known to the "
                               "registry", "patientId")
        if identity.merged_into is None:
            return None
        survivor = identity.merged_into.patient_id
        identity.merged_into = None
        identity.save(update_fields=["merged_into"])
        sender = Peer(user_id=source, host=source_host) if source else this_node("patient identity feed")
        audit.record(patient_record(transaction=transaction_id, action="U", sender=sender,
                                    receiver=this_node(destination or "registry"),
                                    patient_ids=[subsumed, survivor]))
    return survivor


def _store(submission: metadata.Submission, *, versions: Mapping[str, int] | None = None) -> None:
    """Write the submission's rows; `versions` gives the new versions of ITI-57 (else 1)."""
    versions = versions or {}
    codes: list[models.ObjectCode] = []
    values: list[models.ObjectValue] = []
    for package in submission.submission_sets:
        models.SubmissionSet.objects.create(
            entry_uuid=package.entry_uuid, logical_id=package.lid, ebrim=package.ebrim,
            unique_id=package.unique_id, source_id=package.source_id, patient_id=package.patient_id,
            submission_time=formats.padded_dtm(package.submission_time),
            content_type_code=package.content_type_code.code if package.content_type_code else "",
            content_type_scheme=package.content_type_code.scheme if package.content_type_code else "")
        if package.content_type_code:
            codes.append(_code(package, "contentTypeCode", package.content_type_code))
        values += [_value(package, "authorPerson", a.person) for a in package.authors if a.person]
    for document in submission.documents:
        models.DocumentEntry.objects.create(**_document_columns(document),
                                            version=versions.get(document.entry_uuid, 1))
        codes += [_code(document, _KINDS[name], code) for name in _DOCUMENT_CODES
                  if (code := getattr(document, name)) is not None]
        codes += [_code(document, "confidentialityCode", c) for c in document.confidentiality_code]
        codes += [_code(document, "eventCodeList", c) for c in document.event_code_list]
        values += [_value(document, "authorPerson", a.person) for a in document.authors if a.person]
        values += [_value(document, "referenceIdList", r) for r in document.reference_id_list]
    for folder in submission.folders:
        models.Folder.objects.create(entry_uuid=folder.entry_uuid, logical_id=folder.lid, ebrim=folder.ebrim,
                                     version=versions.get(folder.entry_uuid, 1),
                                     unique_id=folder.unique_id, patient_id=folder.patient_id,
                                     last_update_time=folder.last_update_time)
        codes += [_code(folder, "codeList", c) for c in folder.code_list]
    models.ObjectCode.objects.bulk_create(codes)
    models.ObjectValue.objects.bulk_create(values)
    _store_associations(submission)


def _store_associations(submission: metadata.Submission) -> None:
    moment = next((f.last_update_time for f in submission.folders), "")
    for association in submission.associations:
        source, target = association.source_uuid, association.target_uuid
        models.Association.objects.create(
            entry_uuid=association.entry_uuid, association_type=association.association_type,
            source_uuid=source, target_uuid=target, submission_set_status=association.submission_set_status,
            ebrim=association.ebrim)
        if association.association_type in metadata.REPLACING:
            _deprecate(target)
        elif association.association_type == metadata.HAS_MEMBER and moment:
            # ITI TF-3 4.2.3.4.4: a folder's lastUpdateTime moves when a document joins it.
            for folder in models.Folder.objects.filter(entry_uuid=source).exclude(last_update_time=moment):
                folder.touch(moment)


def _deprecate(entry_uuid: str) -> None:
    """ITI TF-3 4.1.6.1: the replaced entry, and the addenda and transforms of it, are Deprecated."""
    dependants = models.Association.objects.filter(
        target_uuid=entry_uuid, association_type__in=(metadata.APND, metadata.XFRM)).values_list(
        "source_uuid", flat=True)
    for entry in models.DocumentEntry.objects.filter(entry_uuid__in=[entry_uuid, *dependants],
                                                     status=models.APPROVED):
        entry.deprecate()


def _document_columns(document: metadata.DocumentEntry) -> dict[str, object]:
    def code(name: str) -> metadata.Code:
        return getattr(document, name) or metadata.Code("", "")

    return dict(
        entry_uuid=document.entry_uuid, logical_id=document.lid, ebrim=document.ebrim,
        unique_id=document.unique_id, object_type=document.object_type, patient_id=document.patient_id,
        source_patient_id=document.source_patient_id,
        class_code=code("class_code").code, class_scheme=code("class_code").scheme,
        type_code=code("type_code").code, type_scheme=code("type_code").scheme,
        format_code=code("format_code").code, format_scheme=code("format_code").scheme,
        healthcare_facility_type_code=code("healthcare_facility_type_code").code,
        healthcare_facility_type_scheme=code("healthcare_facility_type_code").scheme,
        practice_setting_code=code("practice_setting_code").code,
        practice_setting_scheme=code("practice_setting_code").scheme,
        creation_time=formats.padded_dtm(document.creation_time),
        service_start_time=formats.padded_dtm(document.service_start_time),
        service_stop_time=formats.padded_dtm(document.service_stop_time),
        mime_type=document.mime_type, hash=document.hash.lower(),
        size=int(document.size) if document.size else None,
        repository_unique_id=document.repository_unique_id, language_code=document.language_code,
        title=document.title[:512], document_availability=document.document_availability,
    )


def _code(entry: metadata.RegistryObject, kind: str, code: metadata.Code) -> models.ObjectCode:
    return models.ObjectCode(entry_uuid=entry.entry_uuid, kind=kind, code=code.code, scheme=code.scheme)


def _value(entry: metadata.RegistryObject, kind: str, value: str) -> models.ObjectValue:
    return models.ObjectValue(entry_uuid=entry.entry_uuid, kind=kind, value=value[:512])
