"""Domain: a submission's metadata as plain objects, with the attribute names of ITI TF-3 4.2.3.

The handler reads the wire into these; validation and the services read nothing else. Each
object carries `ebrim`, its RegistryObject as the registry will answer it (final entryUUID, lid,
version and status already set), so that storing it needs no XML library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ITI TF-3 4.2.2: association types (ebRIM 3.0 URNs and the XDS ones).
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
APND = "urn:ihe:iti:2007:AssociationType:APND"
XFRM = "urn:ihe:iti:2007:AssociationType:XFRM"
XFRM_RPLC = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
IS_SNAPSHOT_OF = "urn:ihe:iti:2010:AssociationType:IsSnapshotOf"
# ITI TF-3 4.1.6: the relationships between documents, whose target must be an Approved entry.
DOCUMENT_RELATIONSHIPS = (RPLC, APND, XFRM, XFRM_RPLC, SIGNS)
REPLACING = (RPLC, XFRM_RPLC)
ASSOCIATION_TYPES = (HAS_MEMBER, *DOCUMENT_RELATIONSHIPS, IS_SNAPSHOT_OF)
# ITI TF-2b 3.57.4.1.3.3.2: ITI-57's status change, from the submission set to the object.
UPDATE_AVAILABILITY_STATUS = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"


@dataclass(frozen=True)
class Code:
    """A coded value: ebRIM Classification nodeRepresentation, codingScheme slot and Name."""

    code: str
    scheme: str
    display_name: str = ""


@dataclass
class Author:
    """ITI TF-3 4.2.3.1.4: one author classification."""

    person: str = ""
    institutions: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    specialties: list[str] = field(default_factory=list)
    telecommunications: list[str] = field(default_factory=list)


@dataclass
class RegistryObject:
    """What every submitted object has: its ids, its stored ebRIM form, and what the reader saw."""

    entry_uuid: str
    symbolic_id: str = ""  # the id the source gave, when it was not a urn:uuid
    lid: str = ""
    ebrim: str = ""
    # Single-valued attributes that appeared more than once (a cardinality error).
    repeated: list[str] = field(default_factory=list)
    # Slots the registry does not know; kept in `ebrim` (ITI TF-3 4.1.14 extra metadata).
    extra_slots: list[str] = field(default_factory=list)
    # Classification schemes or identification schemes the registry does not know.
    unknown_schemes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return type(self).__name__

    @property
    def location(self) -> str:
        return f"{self.kind} {self.symbolic_id or self.entry_uuid}"

    def set_version(self, version: int) -> None:
        """ITI TF-3 4.1.9: the registry numbers versions; the reader wrote version 1."""
        self.ebrim = re.sub(r'(VersionInfo versionName=")1(")', rf"\g<1>{version}\g<2>", self.ebrim, count=1)


@dataclass
class DocumentEntry(RegistryObject):
    """ITI TF-3 4.2.3.2, Table 4.2.3.2-1."""

    object_type: str = ""
    unique_id: str = ""
    patient_id: str = ""
    source_patient_id: str = ""
    source_patient_info: list[str] = field(default_factory=list)
    class_code: Code | None = None
    type_code: Code | None = None
    format_code: Code | None = None
    healthcare_facility_type_code: Code | None = None
    practice_setting_code: Code | None = None
    confidentiality_code: list[Code] = field(default_factory=list)
    event_code_list: list[Code] = field(default_factory=list)
    creation_time: str = ""
    service_start_time: str = ""
    service_stop_time: str = ""
    mime_type: str = ""
    hash: str = ""
    size: str = ""
    repository_unique_id: str = ""
    language_code: str = ""
    legal_authenticator: str = ""
    title: str = ""
    comments: str = ""
    uri: str = ""
    document_availability: str = ""
    reference_id_list: list[str] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)


@dataclass
class SubmissionSet(RegistryObject):
    """ITI TF-3 4.2.3.3, Table 4.2.3.3-1."""

    unique_id: str = ""
    source_id: str = ""
    patient_id: str = ""
    submission_time: str = ""
    content_type_code: Code | None = None
    title: str = ""
    comments: str = ""
    intended_recipient: list[str] = field(default_factory=list)
    authors: list[Author] = field(default_factory=list)


@dataclass
class Folder(RegistryObject):
    """ITI TF-3 4.2.3.4, Table 4.2.3.4-1."""

    unique_id: str = ""
    patient_id: str = ""
    code_list: list[Code] = field(default_factory=list)
    title: str = ""
    comments: str = ""
    last_update_time: str = ""


@dataclass
class Association(RegistryObject):
    """ITI TF-3 4.2.2: an association between two objects, by their (final) entryUUIDs."""

    association_type: str = ""
    source_uuid: str = ""
    target_uuid: str = ""
    submission_set_status: str = ""  # HasMember from a submission set: Original or Reference
    previous_version: str = ""  # ITI-57's HasMember to a new version: the version it replaces
    original_status: str = ""  # ITI-57's UpdateAvailabilityStatus: the status now ...
    new_status: str = ""  # ... and the status to be

    @property
    def type_name(self) -> str:
        return self.association_type.rsplit(":", 1)[-1]


@dataclass
class Submission:
    """One lcm:SubmitObjectsRequest: a submission set and what it brings (ITI TF-3 4.1.4)."""

    submission_sets: list[SubmissionSet] = field(default_factory=list)
    documents: list[DocumentEntry] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)
    # RegistryPackages neither a submission set nor a folder, and objects of other kinds.
    unclassified: list[str] = field(default_factory=list)

    @property
    def submission_set(self) -> SubmissionSet | None:
        return self.submission_sets[0] if len(self.submission_sets) == 1 else None

    @property
    def objects(self) -> list[SubmissionSet | DocumentEntry | Folder]:
        return [*self.submission_sets, *self.documents, *self.folders]

    @property
    def versioned(self) -> list[DocumentEntry | Folder]:
        return [*self.documents, *self.folders]

    def by_uuid(self) -> dict[str, RegistryObject]:
        found: dict[str, RegistryObject] = {o.entry_uuid: o for o in self.objects}
        found.update({a.entry_uuid: a for a in self.associations})
        return found
