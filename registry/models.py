"""The registry's ebRIM 3.0 objects (ITI TF-3 4.2.3), with what queries filter on in columns.

Each object keeps its ebRIM form (`ebrim`, the XML text of its RegistryObject as the registry
answers it in a LeafClass response), so a query does not rebuild it from dozens of rows. Objects
refer to each other by entryUUID, as ebRIM does; multi-valued attributes a query filters on
(code lists, authors, reference IDs) sit in `ObjectCode` and `ObjectValue`.
"""

from __future__ import annotations

from django.db import models

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
ON_DEMAND = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"


class PatientIdentity(models.Model):
    """An affinity-domain patient ID the registry accepts (ITI TF-3 4.2.3.1.4: the Patient
    Identity Feed makes it known). Merging points the subsumed ID at the surviving one."""

    patient_id = models.CharField(max_length=256, unique=True)  # CX: id^^^&OID&ISO
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "patient identities"

    def __str__(self) -> str:
        return self.patient_id


class RegistryObject(models.Model):
    entry_uuid = models.CharField(max_length=64, unique=True)  # urn:uuid:...
    logical_id = models.CharField(max_length=64, db_index=True)  # lid (ITI TF-3 4.1.9)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=64, db_index=True, default=APPROVED)
    home_community_id = models.CharField(max_length=64, blank=True)
    ebrim = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def change_status(self, status: str) -> None:
        """The availabilityStatus, in its column and its ebRIM alike (the root's attribute comes first)."""
        self.ebrim = self.ebrim.replace(f'status="{self.status}"', f'status="{status}"', 1)
        self.status = status
        self.save(update_fields=["status", "ebrim"])

    def deprecate(self) -> None:
        """ITI TF-3 4.1.6.1: a replaced entry is Deprecated; ITI TF-2b 3.57.4.1.3.3.1: so is the
        version a new one supersedes."""
        if self.status == APPROVED:
            self.change_status(DEPRECATED)


class SubmissionSet(RegistryObject):
    unique_id = models.CharField(max_length=128, unique=True)
    source_id = models.CharField(max_length=128, db_index=True)
    patient_id = models.CharField(max_length=256, db_index=True)
    submission_time = models.CharField(max_length=14, db_index=True)  # DTM, padded to 14
    content_type_code = models.CharField(max_length=128, blank=True)
    content_type_scheme = models.CharField(max_length=128, blank=True)

    def __str__(self) -> str:
        return self.unique_id


class DocumentEntry(RegistryObject):
    unique_id = models.CharField(max_length=128, db_index=True)
    object_type = models.CharField(max_length=64, default=STABLE)
    patient_id = models.CharField(max_length=256)
    source_patient_id = models.CharField(max_length=256, blank=True)
    class_code = models.CharField(max_length=128)
    class_scheme = models.CharField(max_length=128)
    type_code = models.CharField(max_length=128)
    type_scheme = models.CharField(max_length=128)
    format_code = models.CharField(max_length=256)
    format_scheme = models.CharField(max_length=128)
    healthcare_facility_type_code = models.CharField(max_length=128)
    healthcare_facility_type_scheme = models.CharField(max_length=128)
    practice_setting_code = models.CharField(max_length=128)
    practice_setting_scheme = models.CharField(max_length=128)
    # DTM values padded to 14 digits, so that string order is time order.
    creation_time = models.CharField(max_length=14, blank=True)
    service_start_time = models.CharField(max_length=14, blank=True)
    service_stop_time = models.CharField(max_length=14, blank=True)
    mime_type = models.CharField(max_length=128)
    hash = models.CharField(max_length=40, blank=True)  # SHA-1, hex
    size = models.BigIntegerField(null=True)
    repository_unique_id = models.CharField(max_length=128, blank=True)
    language_code = models.CharField(max_length=32, blank=True)
    title = models.CharField(max_length=512, blank=True)
    document_availability = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "document entries"
        constraints = [models.UniqueConstraint(fields=["logical_id", "version"],
                                               name="document_entry_version")]
        indexes = [
            models.Index(fields=["patient_id", "status", "class_code"]),
            models.Index(fields=["patient_id", "status", "creation_time"]),
            models.Index(fields=["patient_id", "status", "format_code"]),
        ]

    def __str__(self) -> str:
        return self.unique_id


class Folder(RegistryObject):
    unique_id = models.CharField(max_length=128, db_index=True)
    patient_id = models.CharField(max_length=256, db_index=True)
    last_update_time = models.CharField(max_length=14, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["logical_id", "version"],
                                               name="folder_version")]

    def __str__(self) -> str:
        return self.unique_id

    def touch(self, moment: str) -> None:
        """ITI TF-3 4.2.3.4.4: the registry sets lastUpdateTime when the folder's content changes."""
        slot = self.ebrim.find('name="lastUpdateTime"')
        if slot >= 0 and self.last_update_time:
            head, tail = self.ebrim[:slot], self.ebrim[slot:]
            self.ebrim = head + tail.replace(f">{self.last_update_time}<", f">{moment}<", 1)
        self.last_update_time = moment
        self.save(update_fields=["last_update_time", "ebrim"])


class Association(models.Model):
    """HasMember, RPLC, APND, XFRM, XFRM_RPLC, signs, IsSnapshotOf (ITI TF-3 4.2.2)."""

    entry_uuid = models.CharField(max_length=64, unique=True)
    association_type = models.CharField(max_length=128, db_index=True)  # the full URN
    source_uuid = models.CharField(max_length=64, db_index=True)
    target_uuid = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=64, default=APPROVED)
    submission_set_status = models.CharField(max_length=16, blank=True)  # Original, Reference
    ebrim = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.association_type.rsplit(':', 1)[-1]} {self.source_uuid} -> {self.target_uuid}"


class ObjectCode(models.Model):
    """One coded value of an object's code list: eventCodeList, confidentialityCode, a folder's
    codeList, ... (`kind` names the classification scheme by its attribute name)."""

    entry_uuid = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=64)
    code = models.CharField(max_length=256)
    scheme = models.CharField(max_length=128)

    class Meta:
        indexes = [models.Index(fields=["kind", "code", "scheme"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.code} ({self.scheme})"


class ObjectValue(models.Model):
    """One value of a multi-valued attribute queries match: authorPerson, referenceIdList."""

    entry_uuid = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=64)
    value = models.CharField(max_length=512)

    class Meta:
        indexes = [models.Index(fields=["kind", "value"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class CodeValue(models.Model):
    """A code of the affinity domain's value sets that metadata is checked against (ITI TF-3
    4.2.3.2: the affinity domain defines the codes of classCode, typeCode, ...)."""

    kind = models.CharField(max_length=64)  # classCode, typeCode, formatCode, ...
    code = models.CharField(max_length=256)
    scheme = models.CharField(max_length=128)
    display_name = models.CharField(max_length=256)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "code", "scheme"],
                                               name="code_value_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.code} ({self.scheme}): {self.display_name}"
