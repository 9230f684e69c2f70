"""ebXML RegRep 3.0 on the wire: reading requests into plain objects, writing responses."""
