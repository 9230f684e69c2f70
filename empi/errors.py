"""The EMPI's errors, each carrying the HL7 v2 error code (table 0357) the edges answer with.

    EmpiError
     +-- UnknownAuthority      an assigning authority the affinity domain does not know (204)
     +-- UnknownRecord         no record with that identifier in that authority (204)
     +-- NoAffinityDomain      the affinity domain has no assigning authority configured (207)
"""

from __future__ import annotations


class EmpiError(Exception):
    """A request the EMPI cannot carry out; `code` is its HL7 table 0357 condition."""

    code = "207"


class UnknownAuthority(EmpiError):
    code = "204"


class UnknownRecord(EmpiError):
    code = "204"


class NoAffinityDomain(EmpiError):
    code = "207"
