"""pynetdicom as hospital A's PACS: the storage SCU the tests send instances with."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

HOSPITAL_A_PACS = "HOSPA_PACS"


@contextmanager
def association(port: int, *, called_ae: str = "HIENODE",
                tls: ssl.SSLContext | None = None) -> Iterator[Association]:
    """An association with the node; over TLS (PS3.15 B.1) with `tls` as the client's context."""
    ae = AE(ae_title=HOSPITAL_A_PACS)
    ae.add_requested_context(CTImageStorage)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    assoc = ae.associate("127.0.0.1", port, ae_title=called_ae,
                         tls_args=(tls, "127.0.0.1") if tls else None)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def c_store(port: int, ds: Dataset) -> int:
    """The C-STORE response status, or -1 when no association was made."""
    with association(port) as assoc:
        if not assoc.is_established:
            return -1
        response = assoc.send_c_store(ds)
        return int(response.Status) if "Status" in response else -1
