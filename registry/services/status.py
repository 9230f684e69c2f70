"""Domain: the operators' status change of a DocumentEntry, as an ITI-57 Update Document Set.

The console deprecates an entry the way a Document Administrator would over the wire: a
submission set of this node with one UpdateAvailabilityStatus association (ITI TF-2b
3.57.4.1.3.3.2), checked and stored by `submission_update`, which audits it (Import, action U).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from xml.sax.saxutils import quoteattr

from django.conf import settings

from registry import metadata, models
from registry.ebrim.namespaces import RIM
from registry.ebrim.schemes import (
    SUBMISSION_SET_CLASSIFICATIONS,
    SUBMISSION_SET_IDENTIFIERS,
    SUBMISSION_SET_NODE,
)
from registry.errors import RegistryError
from registry.services.update import submission_update

_SCHEME = {name: scheme for scheme, name in SUBMISSION_SET_CLASSIFICATIONS.items()}
_IDENTIFIER = {name: scheme for scheme, name in SUBMISSION_SET_IDENTIFIERS.items()}


def document_entry_deprecate(*, entry_uuid: str, source: str, source_host: str = "",
                             destination: str = "") -> list[RegistryError]:
    """Change an Approved DocumentEntry to Deprecated through ITI-57, all or nothing. Raises
    RegistryErrors when the registry refuses (an unknown or merged patient, a status that is not
    Approved any more, a later version); returns the warnings of a success."""
    entry = models.DocumentEntry.objects.filter(entry_uuid=entry_uuid).first()
    patient_id = entry.patient_id if entry is not None else ""
    package = _submission_set(patient_id=patient_id, content_type=_content_type(entry_uuid))
    change = _status_change(package.entry_uuid, entry_uuid)
    return submission_update(submission=metadata.Submission(submission_sets=[package], associations=[change]),
                             source=source, source_host=source_host, destination=destination)


def _content_type(entry_uuid: str) -> metadata.Code:
    """ITI TF-3 4.2.3.3.4: contentTypeCode is required; the update takes the one of the
    submission set that registered the entry, so it is in the affinity domain's value set."""
    registering = models.Association.objects.filter(
        association_type=metadata.HAS_MEMBER, target_uuid=entry_uuid).values("source_uuid")
    found = (models.SubmissionSet.objects.filter(entry_uuid__in=registering).exclude(content_type_code="")
             .order_by("id").first())
    if found is not None:
        return metadata.Code(found.content_type_code, found.content_type_scheme)
    configured = models.CodeValue.objects.filter(kind="contentTypeCode").order_by("id").first()
    if configured is not None:
        return metadata.Code(configured.code, configured.scheme, configured.display_name)
    # ITI TF-3 4.2.3.3.4's own example: a value set that is not configured is not checked.
    return metadata.Code("18748-4", "2.16.840.1.113883.6.1", "Diagnostic imaging study")


def _submission_set(*, patient_id: str, content_type: metadata.Code) -> metadata.SubmissionSet:
    entry_uuid = f"urn:uuid:{uuid.uuid4()}"
    # ITU-T X.667: an OID made of a UUID needs no registration of its own.
    unique_id = f"2.25.{uuid.uuid4().int}"
    # The node's own OID stands for the Document Administrator that the console is.
    source_id = settings.REPOSITORY_UNIQUE_ID
    moment = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    identifiers = "".join(
        f'<rim:ExternalIdentifier id="urn:uuid:{uuid.uuid4()}" registryObject="{entry_uuid}" '
        f'identificationScheme="{_IDENTIFIER[name]}" value={quoteattr(value)}><rim:Name>'
        f'<rim:LocalizedString value="XDSSubmissionSet.{name}"/></rim:Name></rim:ExternalIdentifier>'
        for name, value in (("uniqueId", unique_id), ("sourceId", source_id), ("patientId", patient_id)))
    ebrim = (
        f'<rim:RegistryPackage xmlns:rim="{RIM}" id="{entry_uuid}" lid="{entry_uuid}" '
        f'status="{models.APPROVED}"><rim:Slot name="submissionTime"><rim:ValueList><rim:Value>{moment}'
        '</rim:Value></rim:ValueList></rim:Slot><rim:Name><rim:LocalizedString value="Status change by '
        'the exchange\'s operators"/></rim:Name><rim:VersionInfo versionName="1"/>'
        f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" classifiedObject="{entry_uuid}" '
        f'classificationNode="{SUBMISSION_SET_NODE}"/>'
        f'<rim:Classification id="urn:uuid:{uuid.uuid4()}" '
        f'classificationScheme="{_SCHEME["contentTypeCode"]}" classifiedObject="{entry_uuid}" '
        f'nodeRepresentation={quoteattr(content_type.code)}>'
        f'<rim:Slot name="codingScheme"><rim:ValueList><rim:Value>{_text(content_type.scheme)}</rim:Value>'
        f'</rim:ValueList></rim:Slot></rim:Classification>{identifiers}</rim:RegistryPackage>')
    return metadata.SubmissionSet(entry_uuid=entry_uuid, lid=entry_uuid, ebrim=ebrim, unique_id=unique_id,
                                  source_id=source_id, patient_id=patient_id, submission_time=moment,
                                  content_type_code=content_type,
                                  title="Status change by the exchange's operators")


def _status_change(package_uuid: str, target_uuid: str) -> metadata.Association:
    """ITI TF-2b 3.57.4.1.3.3.2: UpdateAvailabilityStatus from the submission set to the entry."""
    entry_uuid = f"urn:uuid:{uuid.uuid4()}"
    slots = "".join(f'<rim:Slot name="{name}"><rim:ValueList><rim:Value>{value}</rim:Value></rim:ValueList>'
                    "</rim:Slot>" for name, value in (("OriginalStatus", models.APPROVED),
                                                      ("NewStatus", models.DEPRECATED)))
    ebrim = (f'<rim:Association xmlns:rim="{RIM}" id="{entry_uuid}" lid="{entry_uuid}" '
             f'associationType="{metadata.UPDATE_AVAILABILITY_STATUS}" sourceObject="{package_uuid}" '
             f'targetObject={quoteattr(target_uuid)} status="{models.APPROVED}">{slots}'
             '<rim:VersionInfo versionName="1"/></rim:Association>')
    return metadata.Association(entry_uuid=entry_uuid, lid=entry_uuid, ebrim=ebrim,
                                association_type=metadata.UPDATE_AVAILABILITY_STATUS,
                                source_uuid=package_uuid, target_uuid=target_uuid,
                                original_status=models.APPROVED, new_status=models.DEPRECATED)


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
