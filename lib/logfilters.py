"""Logging filters the node's settings install; no framework in them."""

from __future__ import annotations

import logging
import os

# python-hl7 names its loggers after its own files and logs a field's text when an escape
# sequence does not decode: that text is patient data (a name, an address), never to be logged.
_HL7_FILES = (os.path.join("hl7", "util.py"), os.path.join("hl7", "containers.py"))


class NoPatientDataFromHl7(logging.Filter):
    """Drops python-hl7's records, which quote the message's fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.endswith(_HL7_FILES)
