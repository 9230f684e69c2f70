"""Affiliated organisations and the assigning authorities whose identifiers the node accepts."""

from django.db import models


class Organisation(models.Model):
    """A hospital (or the exchange itself) taking part in the affinity domain."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    # ITI-57, ITI-62 and ITI-86 change or remove what other organisations registered: they are
    # for the exchange's operators (the Document Administrator), not every affiliated hospital.
    may_administer_documents = models.BooleanField(
        "may update and remove documents (ITI-57, ITI-62, ITI-86)", default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AssigningAuthority(models.Model):
    """An HL7 CX-4 assigning authority: a namespace and the ISO OID behind it."""

    namespace_id = models.CharField(max_length=64, blank=True)
    universal_id = models.CharField(max_length=64, unique=True)
    universal_id_type = models.CharField(max_length=16, default="ISO")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="assigning_authorities", null=True
    )
    # The affinity domain's own authority: the enterprise IDs the registry accepts.
    is_affinity_domain = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "assigning authorities"
        constraints = [
            models.UniqueConstraint(
                fields=["is_affinity_domain"],
                condition=models.Q(is_affinity_domain=True),
                name="one_affinity_domain_authority",
            )
        ]

    def __str__(self) -> str:
        return self.cx4

    @property
    def cx4(self) -> str:
        """The authority as HL7 v2 writes it in CX-4 (`NS&OID&ISO`)."""
        return f"{self.namespace_id}&{self.universal_id}&{self.universal_id_type}"


class ClientCertificate(models.Model):
    """A TLS client certificate an organisation's systems present to the node (ITI TF-2 3.19).

    The exchange's CA vouches that the certificate is genuine; this row says whose it is. The
    node finds it by the SHA-256 fingerprint of the certificate the peer presented.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="client_certificates")
    fingerprint_sha256 = models.CharField("SHA-256 fingerprint", max_length=64, unique=True)
    subject = models.CharField(max_length=1000)
    issuer = models.CharField(max_length=1000)
    serial = models.CharField(max_length=64)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    pem = models.TextField("PEM")
    active = models.BooleanField(default=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "-not_after"]

    def __str__(self) -> str:
        return self.subject


class Member(models.Model):
    """A person of an organisation who signs in to the node's pages: a radiologist sees patients
    by their own organisation's MRNs only, and fetches priors into its PACS."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="member")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")

    def __str__(self) -> str:
        return f"{self.user} of {self.organisation}"
