"""XML namespaces the SOAP layer speaks."""

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
XOP = "http://www.w3.org/2004/08/xop/include"
XMIME = "http://www.w3.org/2005/05/xmlmime"

WSA_ANONYMOUS = f"{WSA}/anonymous"
WSA_NONE = f"{WSA}/none"
# WS-Addressing 1.0 SOAP Binding 6: the action of SOAP faults, and of addressing faults.
WSA_SOAP_FAULT_ACTION = f"{WSA}/soap/fault"
WSA_FAULT_ACTION = f"{WSA}/fault"

NSMAP = {"env": SOAP12, "wsa": WSA, "xop": XOP}


def qname(namespace: str, local: str) -> str:
    """Clark notation, as lxml writes element names."""
    return f"{{{namespace}}}{local}"
