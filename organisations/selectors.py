"""Reads of the affinity domain: whose is the certificate a peer presented, what it may do."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.utils import timezone

from organisations.models import AssigningAuthority, ClientCertificate, Organisation

if TYPE_CHECKING:
    from organisations.certificates import CertificateFacts


def organisation_for_certificate(*, der: bytes) -> Organisation | None:
    """The active organisation holding this active, unexpired client certificate (DER), if any.

    The TLS layer has already checked the CA's signature and the validity dates; this says who
    the CA-vouched peer is (ITI TF-2 3.19). One indexed lookup by SHA-256 fingerprint.
    """
    now = timezone.now()
    certificate = (
        ClientCertificate.objects.select_related("organisation")
        .filter(fingerprint_sha256=hashlib.sha256(der).hexdigest(), active=True,
                organisation__active=True, not_before__lte=now, not_after__gt=now)
        .first()
    )
    return certificate.organisation if certificate else None


def certificate_refusal(*, certificate: CertificateFacts) -> str | None:
    """Why the node would not register `certificate` as a client certificate, or None."""
    if certificate.is_ca:
        return "this is a CA certificate: register the client certificate it issued"
    if certificate.not_after <= timezone.now():
        return f"this certificate expired on {certificate.not_after:%Y-%m-%d}"
    holder = (ClientCertificate.objects.select_related("organisation")
              .filter(fingerprint_sha256=certificate.fingerprint_sha256).first())
    if holder is not None:
        return f"this certificate is registered already, to {holder.organisation}"
    return None


def may_administer_documents(code: str) -> bool:
    """Whether a request from the organisation `code` may update or remove documents (ITI-57,
    ITI-62, ITI-86): they change what other organisations registered, so they are the
    exchange's operators' (the Document Administrator), granted per organisation.

    An empty code is a request on the plain-HTTP port, which carries no client certificate: it
    is the operator's own local port (bound to loopback unless BIND_ADDRESS says otherwise), so
    it is allowed. Over HTTPS every request has an organisation (ITI-19: the certificate's).
    """
    if not code:
        return True
    return Organisation.objects.filter(code=code, active=True, may_administer_documents=True).exists()


def foreign_authorities(*, organisation: str, authorities: Iterable[AssigningAuthority],
                        affinity: bool = False) -> list[AssigningAuthority]:
    """Of `authorities`, those not `organisation`'s own: an organisation authenticated by its
    certificate or OAuth client feeds, orders and submits under its own patient IDs only (ITI TF-2
    3.19; a source feeds its own domain, ITI TF-2a 3.8.4.1.3). With `affinity`, the affinity
    domain's authorities pass too: every site may name an enterprise ID.

    Nothing is foreign to the operator's own port (an empty `organisation`), nor to an organisation
    that owns no assigning authority: the exchange's own interface engine relaying its members'
    feeds, which the operators vouch for by giving it credentials and no domain of its own."""
    given = list(authorities)
    if not organisation or not given:
        return []
    own = set(AssigningAuthority.objects.filter(organisation__code=organisation).values_list("pk", flat=True))
    if not own:
        return []
    return [a for a in given if a.pk not in own and not (affinity and a.is_affinity_domain)]
