"""python-hl7's own log records quote a message's fields: the node's logging drops them."""

from __future__ import annotations

import logging

import hl7.util

from lib.logfilters import NoPatientDataFromHl7


def test_a_record_of_python_hl7_is_dropped_and_the_nodes_own_are_kept() -> None:
    keep = NoPatientDataFromHl7()
    library = logging.LogRecord(hl7.util.__file__, logging.ERROR, hl7.util.__file__, 1,
                                "Error decoding value DOE^JANE", None, None)
    own = logging.LogRecord("mllp.listener", logging.ERROR, __file__, 1, "refused", None, None)
    assert not keep.filter(library)
    assert keep.filter(own)
