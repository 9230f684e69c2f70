"""Domain: the checks of a submission against what the registry holds: patients, codes, uniqueIds,
the targets of associations."""

from __future__ import annotations

from registry import errors, metadata
from registry.errors import RegistryError
from registry.models import APPROVED, CodeValue, DocumentEntry, Folder, PatientIdentity, SubmissionSet


def check_patient(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-2b 3.42.4.1.3: the patientId is one the Patient Identity Feed made known, and
    not one a merge subsumed (the surviving ID is named)."""
    package = submission.submission_set
    if package is None or not package.patient_id:
        return []
    known = (PatientIdentity.objects.filter(patient_id=package.patient_id)
             .select_related("merged_into").first())
    where = f"{package.location} patientId"
    if known is None:
        return [RegistryError(errors.UNKNOWN_PATIENT_ID,
                              f"patientId {package.patient_id!r} is not known to the registry", where)]
    if known.merged_into is not None:
        survivor = known.merged_into
        while survivor.merged_into is not None:
            survivor = survivor.merged_into
        return [RegistryError(errors.UNKNOWN_PATIENT_ID, f"patientId {package.patient_id!r} was merged "
                              f"into {survivor.patient_id!r}; submit under that ID", where)]
    return []


def check_codes(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-3 4.2.3.2: coded attributes take their values from the affinity domain's value sets.
    A kind with no value set configured is not checked."""
    used: list[tuple[metadata.RegistryObject, str, metadata.Code]] = []
    for document in submission.documents:
        for kind, code in (("classCode", document.class_code), ("typeCode", document.type_code),
                           ("formatCode", document.format_code),
                           ("healthcareFacilityTypeCode", document.healthcare_facility_type_code),
                           ("practiceSettingCode", document.practice_setting_code)):
            if code:
                used.append((document, kind, code))
        used += [(document, "confidentialityCode", c) for c in document.confidentiality_code]
        used += [(document, "eventCodeList", c) for c in document.event_code_list]
    for package in submission.submission_sets:
        if package.content_type_code:
            used.append((package, "contentTypeCode", package.content_type_code))
    for folder in submission.folders:
        used += [(folder, "codeList", c) for c in folder.code_list]
    used = [(o, k, c) for o, k, c in used if c.code and c.scheme]
    kinds = {k for _, k, _ in used}
    configured = set(CodeValue.objects.filter(kind__in=kinds).values_list("kind", flat=True).distinct())
    known = set(CodeValue.objects.filter(kind__in=configured, code__in={c.code for _, _, c in used})
                .values_list("kind", "code", "scheme"))
    return [RegistryError(errors.METADATA_ERROR, f"{kind} {code.code!r} of scheme {code.scheme!r} is not "
                          "in the affinity domain's value set", f"{entry.location} {kind}")
            for entry, kind, code in used
            if kind in configured and (kind, code.code, code.scheme) not in known]


def check_unique_ids(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-2b 3.42.4.1.3: a SubmissionSet or Folder uniqueId is new; a DocumentEntry's may be
    known only for the very same document (same hash and size), which is then registered as a
    DocumentEntry of its own in the new submission set (NIST 12004 finds both)."""
    found: list[RegistryError] = []
    for model, entries in ((SubmissionSet, submission.submission_sets), (Folder, submission.folders)):
        ids = {e.unique_id for e in entries if e.unique_id}
        taken = set(model.objects.filter(unique_id__in=ids).values_list("unique_id", flat=True))
        found += [RegistryError(errors.DUPLICATE_UNIQUE_ID_IN_REGISTRY,
                                       f"uniqueId {e.unique_id!r} is already registered",
                                       f"{e.location} uniqueId")
                         for e in entries if e.unique_id in taken]
    ids = {d.unique_id for d in submission.documents if d.unique_id}
    stored = {d.unique_id: d for d in DocumentEntry.objects.filter(unique_id__in=ids).order_by("version")}
    for document in submission.documents:
        existing = stored.get(document.unique_id)
        if existing is None:
            continue
        where = f"{document.location} uniqueId"
        if document.hash.lower() != existing.hash.lower():
            found.append(RegistryError(errors.NON_IDENTICAL_HASH, f"uniqueId {document.unique_id!r} "
                                              "is registered with another hash", where))
        elif not document.size.isdigit() or existing.size != int(document.size):
            found.append(RegistryError(errors.NON_IDENTICAL_SIZE, f"uniqueId {document.unique_id!r} "
                                              "is registered with another size", where))
    return found


def check_references(submission: metadata.Submission, outside: set[str]) -> list[RegistryError]:
    """ITI TF-3 4.1.6, 4.2.2: what associations name outside the submission is in the registry;
    the target of RPLC, APND, XFRM, XFRM_RPLC or signs is an Approved DocumentEntry of the
    submission's patient."""
    documents = {d.entry_uuid: d for d in DocumentEntry.objects.filter(entry_uuid__in=outside)}
    stored = set(documents)
    folders = dict(Folder.objects.filter(entry_uuid__in=outside).values_list("entry_uuid", "patient_id"))
    stored |= set(folders)
    stored |= set(SubmissionSet.objects.filter(entry_uuid__in=outside).values_list("entry_uuid", flat=True))
    package = submission.submission_set
    found: list[RegistryError] = []
    for association in submission.associations:
        ends = (("sourceObject", association.source_uuid), ("targetObject", association.target_uuid))
        for end, uuid in ends:
            if uuid in outside and uuid not in stored:
                found.append(RegistryError(errors.METADATA_ERROR, f"{uuid} is neither in the submission nor "
                                           "in the registry", f"{association.location} {end}"))
        if (association.association_type == metadata.HAS_MEMBER and association.source_uuid in folders
                and package is not None and package.patient_id
                and folders[association.source_uuid] != package.patient_id):
            # ITI TF-3 4.1.4.1: a document added to a folder has the folder's patient.
            found.append(RegistryError(errors.PATIENT_ID_DOES_NOT_MATCH, f"Folder {association.source_uuid} "
                                       "is another patient's", f"{association.location} sourceObject"))
        if association.association_type not in metadata.DOCUMENT_RELATIONSHIPS:
            continue
        target = documents.get(association.target_uuid)
        where = f"{association.location} targetObject"
        if target is None:
            if association.target_uuid in stored or association.target_uuid in submission.by_uuid():
                found.append(RegistryError(errors.METADATA_ERROR, f"a {association.type_name} targets a "
                                           "DocumentEntry already in the registry", where))
            continue
        if target.status != APPROVED:
            found.append(RegistryError(errors.DEPRECATED_DOCUMENT, f"{association.type_name} target "
                                       f"{target.entry_uuid} is not Approved", where))
        if package is not None and package.patient_id and target.patient_id != package.patient_id:
            found.append(RegistryError(errors.PATIENT_ID_DOES_NOT_MATCH, f"{association.type_name} target "
                                       f"{target.entry_uuid} is another patient's", where))
    return found
