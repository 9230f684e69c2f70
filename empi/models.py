"""The EMPI's tables: persons, the source records linked to them, and the history of each link."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from empi.matching.record import Demographics
from organisations.models import AssigningAuthority


class Person(models.Model):
    """An enterprise identity: one patient as the affinity domain knows them."""

    # The affinity-domain patient ID in HL7 CX form, `id^^^&OID&ISO` (DESIGN.md, Identities).
    enterprise_id = models.CharField(max_length=256, unique=True)
    # A merge (ADT^A40) points the subsumed person at the survivor; its records move there.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.enterprise_id


class PatientRecord(models.Model):
    """What one source said of a patient: its identifier (the MRN) in its assigning authority,
    the demographics as the matcher reads them, and the fields as the feed sent them."""

    authority = models.ForeignKey(AssigningAuthority, on_delete=models.PROTECT, related_name="+")
    identifier = models.CharField(max_length=128)  # CX-1
    given = models.CharField(max_length=128, blank=True)
    middle = models.CharField(max_length=128, blank=True)
    family = models.CharField(max_length=128, blank=True)
    birth_date = models.CharField(max_length=8, blank=True)  # YYYYMMDD
    sex = models.CharField(max_length=1, blank=True)  # HL7 table 0001
    street = models.CharField(max_length=256, blank=True)
    city = models.CharField(max_length=128, blank=True)
    postcode = models.CharField(max_length=32, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    national_id = models.CharField(max_length=64, blank=True)
    mothers_maiden_name = models.CharField(max_length=128, blank=True)
    other_family = models.JSONField(default=list, blank=True)  # list of names
    raw = models.JSONField(default=dict, blank=True)  # the feed's fields, as sent
    # One record belongs to one person, always: set in the transaction that creates the record.
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="records")
    # ADT^A40 within one domain: the subsumed identifier is retired in favour of the survivor.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["authority", "identifier"],
                                               name="one_record_per_identifier")]
        # The console finds a person by an MRN typed without its authority.
        indexes = [models.Index(fields=["identifier"], name="empi_record_identifier")]

    def __str__(self) -> str:
        return self.cx

    def demographics(self) -> Demographics:
        """The record as the matcher reads it (the columns hold normalised values)."""
        return Demographics(
            given=self.given, middle=self.middle, family=self.family, birth_date=self.birth_date,
            sex=self.sex, street=self.street, city=self.city, postcode=self.postcode,
            phone=self.phone, national_id=self.national_id,
            mothers_maiden_name=self.mothers_maiden_name,
            other_family=tuple(self.other_family or ()))

    @property
    def cx(self) -> str:
        """The record's identifier in HL7 CX form: `id^^^NS&OID&ISO`."""
        return f"{self.identifier}^^^{self.authority.cx4}"


class BlockingKey(models.Model):
    """One blocking key of a record: records sharing a key are scored against each other."""

    record = models.ForeignKey(PatientRecord, on_delete=models.CASCADE, related_name="blocking_keys")
    key = models.CharField(max_length=128, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["record", "key"], name="one_blocking_key")]

    def __str__(self) -> str:
        return self.key


class LinkEvent(models.Model):
    """A record linked to a person: by the matcher on a feed, or by a data steward."""

    AUTOMATIC, MANUAL = "automatic", "manual"
    METHODS = [(AUTOMATIC, "automatic"), (MANUAL, "manual")]

    record = models.ForeignKey(PatientRecord, on_delete=models.CASCADE, related_name="link_events")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    previous_person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    score = models.FloatField(null=True, blank=True)  # match weight; none for a first record
    method = models.CharField(max_length=16, choices=METHODS)
    weights = models.JSONField(default=dict, blank=True)  # per-field weights behind the score
    actor = models.CharField(max_length=256, blank=True)  # the feed's sender or the steward
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.method} link of record {self.record_id} to person {self.person_id}"


class ReviewItem(models.Model):
    """A record whose best candidate scored between the review and link thresholds."""

    OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"
    # Dismissed: closed by a steward without a decision either way (nothing is remembered).
    DISMISSED = "dismissed"
    STATUSES = [(OPEN, "open"), (ACCEPTED, "accepted"), (REJECTED, "rejected"),
                (DISMISSED, "dismissed")]

    record = models.ForeignKey(PatientRecord, on_delete=models.CASCADE, related_name="reviews")
    candidate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    # The candidate's record that scored: rejecting the pair remembers these two records.
    candidate_record = models.ForeignKey(PatientRecord, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    weights = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=STATUSES, default=OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.CharField(max_length=256, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"review of record {self.record_id} against person {self.candidate_id}: {self.status}"


class NotSamePerson(models.Model):
    """Two records a data steward said are different people: never proposed together again.
    Stored with the smaller id first."""

    first = models.ForeignKey(PatientRecord, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(PatientRecord, on_delete=models.CASCADE, related_name="+")
    decided_by = models.CharField(max_length=256, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "not same persons"
        constraints = [models.UniqueConstraint(fields=["first", "second"], name="one_not_same_pair")]

    def __str__(self) -> str:
        return f"records {self.first_id} and {self.second_id} are different people"


class MatchParameters(models.Model):
    """A version of the matcher's trained parameters; feeds score with the active one."""

    version = models.PositiveIntegerField(unique=True)
    parameters = models.JSONField()  # empi.matching.training.Parameters.to_dict()
    trained_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "match parameters"
        constraints = [models.UniqueConstraint(fields=["active"], condition=models.Q(active=True),
                                               name="one_active_match_parameters")]

    def __str__(self) -> str:
        return f"match parameters v{self.version}{' (active)' if self.active else ''}"


class PdqContinuation(models.Model):
    """The rest of a paged PDQ answer the consumer has not asked for yet: for ITI-21 under the
    continuation pointer the last page's DSC-1 carried (ITI TF-2a 3.21.4.2.2.9), for ITI-47
    under the query's queryId (ITI TF-2b 3.47.4.3)."""

    pointer = models.CharField(max_length=256, unique=True)  # DSC-1, or queryId as root:extension
    # QPD-2, or the consumer's device: a pointer answers only its own query.
    query_tag = models.CharField(max_length=256)
    remaining = models.JSONField(default=list)  # Person ids, in the order of the answer
    # ITI-47's continuation message does not repeat the query: its queryByParameter is kept, as
    # received, with how many persons the whole answer has (resultTotalQuantity).
    query = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"continuation {self.pointer} of query {self.query_tag}"


class PixConsumer(models.Model):
    """A PIX Consumer subscribed to update notifications, and the assigning authorities whose
    identifiers it wants: ADT^A31 over MLLP (ITI-10, ITI TF-2a 3.10) or PRPA_IN201302UV02 over
    SOAP (ITI-46, ITI TF-2b 3.46)."""

    HL7V2, HL7V3 = "hl7v2", "hl7v3"
    PROTOCOLS = [(HL7V2, "HL7 v2 over MLLP (ITI-10)"), (HL7V3, "HL7 v3 over SOAP (ITI-46)")]

    organisation = models.ForeignKey("organisations.Organisation", on_delete=models.CASCADE,
                                     related_name="pix_consumers")
    protocol = models.CharField(max_length=8, choices=PROTOCOLS, default=HL7V2)
    host = models.CharField(max_length=255, blank=True)  # HL7 v2
    port = models.PositiveIntegerField(null=True, blank=True)  # HL7 v2
    endpoint = models.URLField(max_length=1024, blank=True)  # HL7 v3: the PIXv3 consumer's URL
    # MSH-5 and MSH-6; over HL7 v3 the application is the receiver device's id (an OID).
    receiving_application = models.CharField(max_length=227, blank=True)
    receiving_facility = models.CharField(max_length=227, blank=True)
    domains = models.ManyToManyField(AssigningAuthority, related_name="+")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "PIX consumer"

    def __str__(self) -> str:
        return f"{self.receiving_application or self.organisation} at {self.address}"

    @property
    def address(self) -> str:
        return self.endpoint if self.protocol == self.HL7V3 else f"{self.host}:{self.port}"

    @property
    def transaction(self) -> str:
        return "ITI-46" if self.protocol == self.HL7V3 else "ITI-10"

    def clean(self) -> None:
        if self.protocol == self.HL7V3 and not self.endpoint:
            raise ValidationError({"endpoint": "An HL7 v3 consumer is reached at its endpoint URL."})
        if self.protocol == self.HL7V2 and not (self.host and self.port):
            raise ValidationError({"host": "An HL7 v2 consumer is reached at a host and port."})
