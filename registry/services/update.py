"""Domain: ITI-57 Update Document Set: new versions of DocumentEntries and Folders, changes of
availabilityStatus, and Folder membership (ITI TF-2b 3.57.4.1.3), all or nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from audit import services as audit
from audit.events import Peer, import_, this_node
from registry import errors, metadata, models
from registry.ebrim.namespaces import RIM
from registry.errors import RegistryError, RegistryErrors
from registry.services.register import _store
from registry.validation import objects, stored
from registry.validation import submission as whole

_STATUSES = (models.APPROVED, models.DEPRECATED)
# ITI TF-2b 3.57.4.1.3.3.1: a new version describes the same document; these stay as they were.
_IMMUTABLE = ("unique_id", "hash", "size", "repository_unique_id", "object_type")
_OPERATIONS = (metadata.HAS_MEMBER, metadata.UPDATE_AVAILABILITY_STATUS)

Versioned = models.DocumentEntry | models.Folder


@dataclass
class _Plan:
    """What the checks found to do: the version of each new object, the versions they supersede,
    the status changes."""

    versions: dict[str, int] = field(default_factory=dict)
    superseded: list[Versioned] = field(default_factory=list)
    # The entryUUID of each new DocumentEntry version -> that of the version it supersedes.
    replaced_documents: dict[str, str] = field(default_factory=dict)
    status_changes: list[tuple[Versioned, str]] = field(default_factory=list)
    # Folder memberships deprecated: Remove DocumentEntry from Folder.
    removed_memberships: list[models.Association] = field(default_factory=list)
    # The stored Folders whose content this update changes.
    touched_folders: set[str] = field(default_factory=set)
    errors: list[RegistryError] = field(default_factory=list)


def submission_update(*, submission: metadata.Submission, source: str, source_host: str = "",
                      destination: str = "") -> list[RegistryError]:
    """ITI TF-2b 3.57.4.1.3: store each new version as the latest, Approved, and deprecate the
    version it replaces; apply the status changes; audit it (Import 110107, action U). Raises
    RegistryErrors; returns the warnings of a success. The arguments are submission_register's.
    """
    try:
        with transaction.atomic():
            plan = _check(submission)
            if any(e.is_error for e in plan.errors):
                raise RegistryErrors(plan.errors)
            for entry in submission.versioned:
                entry.set_version(plan.versions[entry.entry_uuid])
            for previous in plan.superseded:
                previous.deprecate()
            _store(submission, versions=plan.versions)
            for target, status in plan.status_changes:
                target.change_status(status)
            for membership in plan.removed_memberships:
                _change_association_status(membership, models.DEPRECATED)
            _carry_folder_memberships(submission, plan)
            moment = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            for folder in models.Folder.objects.filter(entry_uuid__in=plan.touched_folders):
                folder.touch(moment)
            package = submission.submission_set
            assert package is not None  # the checks made sure of it
            audit.record(import_(transaction="ITI-57", sender=Peer(user_id=source, host=source_host),
                                 receiver=this_node(destination), patient_id=package.patient_id,
                                 submission_set_unique_id=package.unique_id))
    except IntegrityError:
        # document_entry_version / folder_version: another update made the same version first.
        raise errors.error(errors.METADATA_VERSION, "a concurrent update registered a new version of one of "
                           "these objects first; nothing was stored") from None
    return [e for e in plan.errors if not e.is_error]


def _check(submission: metadata.Submission) -> _Plan:
    """ITI-42's checks of the submission's own objects, then ITI-57's of versions and statuses."""
    plan = _Plan()
    found = plan.errors
    found += whole.check_size(submission)
    if found:
        return plan
    found += whole.check_shape(submission)
    for package in submission.submission_sets:
        found += objects.check_submission_set(package)
    for document in submission.documents:
        found += objects.check_document_entry(document)
    for folder in submission.folders:
        found += objects.check_folder(folder)
    plain = [a for a in submission.associations if a.association_type != metadata.UPDATE_AVAILABILITY_STATUS]
    for association in plain:
        found += objects.check_association(association)
        if association.association_type not in _OPERATIONS:
            found.append(RegistryError(errors.METADATA_UPDATE_OPERATION, f"a {association.type_name} "
                                       "association is not an update ITI-57 makes here",
                                       f"{association.location} associationType"))
    found += whole.check_one_patient(submission)
    found += whole.check_unique_ids_in_message(submission)
    found += whole.check_membership(submission)
    found += stored.check_patient(submission)
    found += stored.check_codes(submission)
    # A new version keeps its uniqueId: only the submission set's must be new.
    found += stored.check_unique_ids(metadata.Submission(submission_sets=submission.submission_sets))
    without_status_changes = metadata.Submission(
        submission_sets=submission.submission_sets, documents=submission.documents,
        folders=submission.folders, associations=plain)
    found += stored.check_references(without_status_changes, whole.references_outside(without_status_changes))
    _check_versions(submission, plan)
    _check_status_changes(submission, plan)
    _check_folder_additions(submission, plan)
    return plan


def _check_versions(submission: metadata.Submission, plan: _Plan) -> None:
    """ITI TF-2b 3.57.4.1.3.3.1: each object is a new version of the latest version of a stored
    one, named by its lid and by PreviousVersion on the submission set's HasMember."""
    package = submission.submission_set
    previous_versions = {a.target_uuid: a.previous_version for a in submission.associations
                         if package and a.association_type == metadata.HAS_MEMBER
                         and a.source_uuid == package.entry_uuid}
    seen: set[str] = set()
    for entry in submission.versioned:
        where = f"{entry.location} lid"
        if not entry.lid or entry.lid == entry.entry_uuid:
            # ITI TF-2b 3.57.4.1.3.1: a first version (lid = id) is ITI-42's to register.
            plan.errors.append(RegistryError(errors.METADATA_UPDATE, f"{entry.location} is a first version"
                                             " (lid = id); ITI-57 registers new versions only", where))
            continue
        if entry.lid in seen:
            plan.errors.append(RegistryError(errors.METADATA_UPDATE, f"two new versions of {entry.lid}",
                                             where))
            continue
        seen.add(entry.lid)
        model: type[Versioned] = (models.DocumentEntry if isinstance(entry, metadata.DocumentEntry)
                                  else models.Folder)
        latest = model.objects.filter(logical_id=entry.lid).order_by("-version").first()
        if latest is None:
            plan.errors.append(RegistryError(errors.METADATA_UPDATE, f"no {entry.kind} with lid "
                                             f"{entry.lid} is registered", where))
            continue
        previous = previous_versions.get(entry.entry_uuid, "")
        if not previous:
            plan.errors.append(RegistryError(errors.METADATA_UPDATE, "the SubmissionSet's HasMember to a new "
                                             "version needs the PreviousVersion slot", f"{entry.location} "
                                             "PreviousVersion"))
            continue
        if previous != str(latest.version):
            plan.errors.append(RegistryError(
                errors.METADATA_VERSION, f"PreviousVersion {previous} is not the latest version of "
                f"{entry.lid}, {latest.version}; only the latest version may be updated",
                f"{entry.location} PreviousVersion"))
            continue
        plan.errors.extend(_check_unchanged(entry, latest))
        plan.errors.extend(_check_patient_change(entry, latest))
        plan.versions[entry.entry_uuid] = latest.version + 1
        plan.superseded.append(latest)
        if isinstance(latest, models.DocumentEntry):
            plan.replaced_documents[entry.entry_uuid] = latest.entry_uuid


def _check_unchanged(entry: metadata.DocumentEntry | metadata.Folder,
                     latest: Versioned) -> list[RegistryError]:
    stored_values = {"unique_id": latest.unique_id}
    given = {"unique_id": entry.unique_id}
    if isinstance(entry, metadata.DocumentEntry) and isinstance(latest, models.DocumentEntry):
        stored_values |= {"hash": latest.hash, "size": "" if latest.size is None else str(latest.size),
                          "repository_unique_id": latest.repository_unique_id,
                          "object_type": latest.object_type}
        given |= {"hash": entry.hash.lower(), "size": entry.size,
                  "repository_unique_id": entry.repository_unique_id, "object_type": entry.object_type}
    return [RegistryError(errors.METADATA_UPDATE, f"{name} may not change in a new version "
                          f"({stored_values[name]!r} is registered)", f"{entry.location} {name}")
            for name in _IMMUTABLE if name in given and given[name] != stored_values[name]]


def _check_patient_change(entry: metadata.DocumentEntry | metadata.Folder,
                          latest: Versioned) -> list[RegistryError]:
    """ITI TF-2b 3.57.4.1.3.3.1: a new version may correct the patient of a misidentified
    document, but not of one a Folder holds (a folder's members are its patient's, ITI TF-3
    4.1.4.1), nor of a Folder."""
    if entry.patient_id == latest.patient_id:
        return []
    in_folder = models.Association.objects.filter(
        association_type=metadata.HAS_MEMBER, target_uuid=latest.entry_uuid,
        source_uuid__in=models.Folder.objects.values("entry_uuid")).exists()
    if isinstance(entry, metadata.DocumentEntry) and not in_folder:
        return []
    why = "it is a Folder's member" if in_folder else "it is a Folder"
    return [RegistryError(errors.PATIENT_ID_RECONCILIATION, f"patientId may not change from "
                          f"{latest.patient_id!r}: {why}", f"{entry.location} patientId")]


def _check_status_changes(submission: metadata.Submission, plan: _Plan) -> None:
    """ITI TF-2b 3.57.4.1.3.3.2: an UpdateAvailabilityStatus from the submission set to the latest
    version of a stored DocumentEntry or Folder, whose OriginalStatus is its status now."""
    package = submission.submission_set
    changing = [a for a in submission.associations
                if a.association_type == metadata.UPDATE_AVAILABILITY_STATUS]
    versioned_lids = {e.lid for e in submission.versioned}
    for association in changing:
        found = plan.errors
        where = association.location
        if not association.original_status or not association.new_status:
            found.append(RegistryError(errors.METADATA_UPDATE, "UpdateAvailabilityStatus needs the slots "
                                       "OriginalStatus and NewStatus", where))
            continue
        if package is None or association.source_uuid != package.entry_uuid:
            found.append(RegistryError(errors.METADATA_UPDATE, "UpdateAvailabilityStatus comes from the "
                                       "SubmissionSet", f"{where} sourceObject"))
            continue
        named = association.target_uuid
        target: Versioned | None = (models.DocumentEntry.objects.filter(entry_uuid=named).first()
                                    or models.Folder.objects.filter(entry_uuid=named).first())
        membership = None if target else models.Association.objects.filter(entry_uuid=named).first()
        if membership is not None:
            found.extend(_check_membership_removal(association, membership, package, plan))
            continue
        if target is None:
            found.append(RegistryError(errors.METADATA_UPDATE, f"{named} is no DocumentEntry, Folder or "
                                       "Association of the registry", f"{where} targetObject"))
            continue
        if association.new_status not in _STATUSES:
            found.append(RegistryError(errors.METADATA_UPDATE_OPERATION, "NewStatus "
                                       f"{association.new_status!r} is neither Approved nor Deprecated",
                                       f"{where} NewStatus"))
        elif association.original_status != target.status:
            found.append(RegistryError(errors.METADATA_UPDATE_OPERATION, f"OriginalStatus "
                                       f"{association.original_status!r} is not the status of "
                                       f"{target.entry_uuid}, {target.status!r}", f"{where} OriginalStatus"))
        elif target.logical_id in versioned_lids:
            found.append(RegistryError(errors.METADATA_UPDATE_OPERATION, f"{target.entry_uuid} gets a new "
                                       "version in the same update", f"{where} targetObject"))
        elif type(target).objects.filter(logical_id=target.logical_id, version__gt=target.version).exists():
            found.append(RegistryError(errors.METADATA_VERSION, f"{target.entry_uuid} is not the latest "
                                       f"version of {target.logical_id}", f"{where} targetObject"))
        elif package.patient_id and target.patient_id != package.patient_id:
            found.append(RegistryError(errors.PATIENT_ID_DOES_NOT_MATCH, f"{target.entry_uuid} is another "
                                       "patient's", f"{where} targetObject"))
        else:
            plan.status_changes.append((target, association.new_status))


def _check_membership_removal(association: metadata.Association, membership: models.Association,
                              package: metadata.SubmissionSet, plan: _Plan) -> list[RegistryError]:
    """ITI TF-2b 3.57.4.1.3.3 Remove DocumentEntry from Folder: an UpdateAvailabilityStatus
    deprecating a Folder's HasMember of a DocumentEntry; the membership is kept, Deprecated."""
    where = association.location
    folder = models.Folder.objects.filter(entry_uuid=membership.source_uuid).first()
    is_member = (membership.association_type == metadata.HAS_MEMBER and folder is not None
                 and models.DocumentEntry.objects.filter(entry_uuid=membership.target_uuid).exists())
    if not is_member or folder is None:
        return [RegistryError(errors.METADATA_UPDATE_OPERATION, f"{membership.entry_uuid} is not a Folder's "
                              "HasMember of a DocumentEntry, the only Association whose status ITI-57 "
                              "changes", f"{where} targetObject")]
    if association.new_status != models.DEPRECATED:
        return [RegistryError(errors.METADATA_UPDATE_OPERATION, "a Folder membership can only be deprecated "
                              "(Remove DocumentEntry from Folder)", f"{where} NewStatus")]
    if association.original_status != membership.status:
        return [RegistryError(errors.METADATA_UPDATE_OPERATION, "OriginalStatus "
                              f"{association.original_status!r} is not the status of "
                              f"{membership.entry_uuid}, {membership.status!r}",
                              f"{where} OriginalStatus")]
    if package.patient_id and folder.patient_id != package.patient_id:
        return [RegistryError(errors.PATIENT_ID_DOES_NOT_MATCH, f"Folder {folder.entry_uuid} is another "
                              "patient's", f"{where} targetObject")]
    plan.removed_memberships.append(membership)
    plan.touched_folders.add(folder.entry_uuid)
    return []


def _check_folder_additions(submission: metadata.Submission, plan: _Plan) -> None:
    """ITI TF-2b 3.57.4.1.3.3 Add existing DocumentEntry to Folder: a HasMember from a stored
    Folder to a DocumentEntry of the submission's patient, itself a member of the SubmissionSet
    (ITI TF-3 4.1.4). check_references made sure both ends exist and the Folder's patient."""
    package = submission.submission_set
    if package is None:
        return
    stored_folders = set(models.Folder.objects.filter(
        entry_uuid__in={a.source_uuid for a in submission.associations}).values_list("entry_uuid", flat=True))
    submitted = {a.target_uuid for a in submission.associations
                 if a.association_type == metadata.HAS_MEMBER and a.source_uuid == package.entry_uuid}
    for association in submission.associations:
        if (association.association_type != metadata.HAS_MEMBER
                or association.source_uuid not in stored_folders):
            continue
        where = association.location
        document = models.DocumentEntry.objects.filter(entry_uuid=association.target_uuid).first()
        if association.entry_uuid not in submitted:
            plan.errors.append(RegistryError(errors.METADATA_UPDATE, "a HasMember adding a DocumentEntry "
                                             "to a Folder is itself a member of the SubmissionSet", where))
        elif document is not None and package.patient_id and document.patient_id != package.patient_id:
            plan.errors.append(RegistryError(errors.PATIENT_ID_DOES_NOT_MATCH, f"DocumentEntry "
                                             f"{document.entry_uuid} is another patient's",
                                             f"{where} targetObject"))
        elif document is not None and _is_member(association.source_uuid, document.entry_uuid):
            plan.errors.append(RegistryError(errors.METADATA_UPDATE_OPERATION, f"{document.entry_uuid} is "
                                             f"already in Folder {association.source_uuid}", where))
        else:
            plan.touched_folders.add(association.source_uuid)


def _is_member(folder_uuid: str, document_uuid: str) -> bool:
    return models.Association.objects.filter(association_type=metadata.HAS_MEMBER, source_uuid=folder_uuid,
                                             target_uuid=document_uuid, status=models.APPROVED).exists()


def _carry_folder_memberships(submission: metadata.Submission, plan: _Plan) -> None:
    """ITI TF-2b 3.57.4.1.3.3 (Update DocumentEntry Metadata): a new version of a DocumentEntry
    stays in the Folders the version it supersedes is in, and their lastUpdateTime moves: the
    registry adds a HasMember from each to it. The old memberships stay, the deprecated version's
    history."""
    given = {(a.source_uuid, a.target_uuid) for a in submission.associations
             if a.association_type == metadata.HAS_MEMBER}
    folder_uuids = models.Folder.objects.values("entry_uuid")
    for new_uuid, previous_uuid in plan.replaced_documents.items():
        memberships = models.Association.objects.filter(
            association_type=metadata.HAS_MEMBER, target_uuid=previous_uuid, status=models.APPROVED,
            source_uuid__in=folder_uuids).order_by("id")
        for folder_uuid in dict.fromkeys(m.source_uuid for m in memberships):
            if (folder_uuid, new_uuid) in given:
                continue  # the update brought the membership itself
            entry_uuid = f"urn:uuid:{uuid.uuid4()}"
            models.Association.objects.create(
                entry_uuid=entry_uuid, association_type=metadata.HAS_MEMBER, source_uuid=folder_uuid,
                target_uuid=new_uuid, ebrim=(
                    f'<rim:Association xmlns:rim="{RIM}" id="{entry_uuid}" associationType="'
                    f'{metadata.HAS_MEMBER}" sourceObject="{folder_uuid}" targetObject="{new_uuid}" '
                    f'lid="{entry_uuid}" status="{models.APPROVED}"><rim:VersionInfo versionName="1"/>'
                    "</rim:Association>"))
            plan.touched_folders.add(folder_uuid)


def _change_association_status(association: models.Association, status: str) -> None:
    """The availabilityStatus of an Association, in its column and its ebRIM alike."""
    association.ebrim = association.ebrim.replace(f'status="{association.status}"', f'status="{status}"', 1)
    association.status = status
    association.save(update_fields=["status", "ebrim"])
