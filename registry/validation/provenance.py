"""Domain: a submission held to the organisation that sends it.

An authenticated source (ITI TF-2 3.19: the client certificate names its organisation) submits
DocumentEntries whose sourcePatientId is the patient's ID in the source's own domain (ITI TF-3
4.2.3.2.23). A sourcePatientId under another organisation's assigning authority would file the
document as that organisation's (the console reads the source off it) and is refused. The
patientId is the affinity domain's, which every organisation may name; an authority the
exchange does not know is the source's own business and passes.
"""

from __future__ import annotations

from organisations.models import AssigningAuthority
from organisations.selectors import foreign_authorities
from registry import errors, metadata
from registry.errors import RegistryError


def authority_oid(cx: str) -> str:
    """The universal ID of a CX's assigning authority: CX-4 is `namespace&OID&ISO`."""
    parts = cx.split("^")
    return parts[3].split("&")[1] if len(parts) > 3 and parts[3].count("&") >= 1 else ""


def foreign_source_patients(*, submission: metadata.Submission, organisation: str) -> list[RegistryError]:
    """An AuthorizationException for each DocumentEntry whose sourcePatientId names an assigning
    authority of an organisation other than `organisation` ("" is the operator's own port: no check)."""
    named = [(entry, oid) for entry in submission.documents
             if (oid := authority_oid(entry.source_patient_id))]
    if not named:
        return []
    known = AssigningAuthority.objects.filter(universal_id__in={oid for _, oid in named})
    foreign = {a.universal_id for a in foreign_authorities(organisation=organisation, authorities=known,
                                                           affinity=True)}
    return [RegistryError(errors.AUTHORIZATION,
                          f"sourcePatientId names assigning authority {oid}, which is not organisation "
                          f"{organisation!r}'s: a source submits under its own patient IDs",
                          f"{entry.location} sourcePatientId")
            for entry, oid in named if oid in foreign]
