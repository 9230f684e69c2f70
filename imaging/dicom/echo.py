"""C-ECHO as a service class user: is a DICOM peer there and willing to talk to us?"""

from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]


def c_echo(*, host: str, port: int, called_ae: str, calling_ae: str, timeout: float = 10) -> int:
    """The C-ECHO status (0x0000 is success, PS3.7 9.1.5.1.4); -1 when no association was made."""
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(Verification)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    assoc = ae.associate(host, port, ae_title=called_ae)
    if not assoc.is_established:
        return -1
    try:
        status = assoc.send_c_echo()
        return int(status.Status) if status and "Status" in status else -1
    finally:
        assoc.release()
