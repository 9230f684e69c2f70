"""Reads of the affinity domain: whose is the certificate a peer presented, what it may do."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.utils import timezone

from organisations.models import ClientCertificate, Organisation

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
