"""Domain: the checks of a submission as a whole, before the registry's content is consulted."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings

from registry import errors, metadata
from registry.errors import RegistryError


def check_size(submission: metadata.Submission) -> list[RegistryError]:
    """REGISTRY_MAX_SUBMISSION_OBJECTS: a submission carrying more registry objects (submission
    sets, DocumentEntries, Folders, Associations) than the registry takes in one request is
    refused before anything else is checked: ITI TF-3 Table 4.2.4.1-2 XDSRegistryOutOfResources."""
    limit = settings.REGISTRY_MAX_SUBMISSION_OBJECTS
    count = (len(submission.submission_sets) + len(submission.documents) + len(submission.folders)
             + len(submission.associations) + len(submission.unclassified))
    if count <= limit:
        return []
    package = submission.submission_set
    return [RegistryError(errors.OUT_OF_RESOURCES, f"the submission carries {count} registry objects; this "
                          f"registry takes at most {limit} in one submission: split it",
                          package.location if package else "SubmissionSet")]


def check_shape(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-3 4.1.4: exactly one submission set, and nothing the registry cannot classify."""
    found: list[RegistryError] = []
    if len(submission.submission_sets) != 1:
        found.append(RegistryError(errors.METADATA_ERROR, "a submission has exactly one SubmissionSet, "
                                   f"this one has {len(submission.submission_sets)}", "SubmissionSet"))
    found += [RegistryError(errors.METADATA_ERROR, f"{what} is neither a SubmissionSet, a Folder, a "
                            "DocumentEntry nor an Association", what) for what in submission.unclassified]
    return found


def check_one_patient(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-3 4.1.4.1: every object of a submission is about the submission set's patient."""
    package = submission.submission_set
    if package is None or not package.patient_id:
        return []
    entries: list[metadata.DocumentEntry | metadata.Folder] = [*submission.documents, *submission.folders]
    return [RegistryError(errors.PATIENT_ID_DOES_NOT_MATCH,
                          f"patientId {entry.patient_id!r} is not the SubmissionSet's {package.patient_id!r}",
                          f"{entry.location} patientId")
            for entry in entries
            if entry.patient_id and entry.patient_id != package.patient_id]


def check_unique_ids_in_message(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-2b 3.42.4.1.3: no uniqueId twice in one message."""
    holders: dict[str, list[str]] = defaultdict(list)
    for entry in submission.objects:
        if entry.unique_id:
            holders[entry.unique_id].append(entry.location)
    return [RegistryError(errors.DUPLICATE_UNIQUE_ID_IN_MESSAGE,
                          f"uniqueId {unique_id!r} is given to {len(where)} objects: {', '.join(where)}",
                          where[1])
            for unique_id, where in holders.items() if len(where) > 1]


def check_membership(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-3 4.1.4: a HasMember from the submission set to each new document and folder."""
    package = submission.submission_set
    if package is None:
        return []
    members = {a.target_uuid for a in submission.associations
               if a.association_type == metadata.HAS_MEMBER and a.source_uuid == package.entry_uuid}
    found = [RegistryError(errors.METADATA_ERROR, f"{entry.location} is not a member of the SubmissionSet "
                           "(no HasMember association from it)", entry.location)
             for entry in [*submission.documents, *submission.folders] if entry.entry_uuid not in members]
    documents = {d.entry_uuid for d in submission.documents}
    for association in submission.associations:
        if (association.association_type == metadata.HAS_MEMBER
                and association.source_uuid == package.entry_uuid
                and association.target_uuid in documents
                and association.submission_set_status not in ("Original", "Reference")):
            # ITI TF-3 4.2.2.1.1: SubmissionSetStatus says whether the document came with it.
            found.append(RegistryError(errors.METADATA_ERROR, "a HasMember from the SubmissionSet needs "
                                       "SubmissionSetStatus Original or Reference",
                                       f"{association.location} SubmissionSetStatus"))
    return found


def check_relationship_sources(submission: metadata.Submission) -> list[RegistryError]:
    """ITI TF-3 4.1.6: RPLC, APND, XFRM, XFRM_RPLC and signs come from a new DocumentEntry."""
    documents = {d.entry_uuid for d in submission.documents}
    return [RegistryError(errors.METADATA_ERROR, f"a {a.type_name} association must start from a "
                          "DocumentEntry of this submission", f"{a.location} sourceObject")
            for a in submission.associations
            if a.association_type in metadata.DOCUMENT_RELATIONSHIPS and a.source_uuid not in documents]


def references_outside(submission: metadata.Submission) -> set[str]:
    """The entryUUIDs associations name that this submission does not bring."""
    inside = set(submission.by_uuid())
    return {uuid for a in submission.associations for uuid in (a.source_uuid, a.target_uuid)
            if uuid and uuid not in inside}
