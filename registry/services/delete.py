"""Domain: ITI-62 Delete Document Set: remove registry objects, all or nothing (ITI TF-2b 3.62.4.1.3)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q

from audit import services as audit
from audit.events import Peer, patient_record, this_node
from registry import errors, models
from registry.errors import RegistryError, RegistryErrors

_OBJECTS = (models.SubmissionSet, models.DocumentEntry, models.Folder)


def objects_remove(*, entry_uuids: Sequence[str], source: str, source_host: str = "",
                   destination: str = "") -> list[str]:
    """Remove the objects the entryUUIDs name, with their codes and values, and audit it (Patient
    Record 110110, action D: ITI TF-2b 3.62.5). Raises RegistryErrors: UnresolvedReferenceException
    for an id the registry does not hold, ReferencesExistException for an Association left
    behind that names a removed object. Returns the patients whose records changed.
    """
    doomed = set(entry_uuids)
    with transaction.atomic():
        held = {uuid for model in (*_OBJECTS, models.Association)
                for uuid in model.objects.filter(entry_uuid__in=doomed).values_list("entry_uuid", flat=True)}
        problems = [RegistryError(errors.UNRESOLVED_REFERENCE, f"{uuid} is not in the registry", uuid)
                    for uuid in dict.fromkeys(entry_uuids) if uuid not in held]
        left = (models.Association.objects.filter(Q(source_uuid__in=doomed) | Q(target_uuid__in=doomed))
                .exclude(entry_uuid__in=doomed).order_by("id"))
        problems += [RegistryError(errors.REFERENCES_EXIST, f"{a} ({a.entry_uuid}) refers to a removed "
                                   "object; remove it too", a.entry_uuid) for a in left]
        if problems:
            raise RegistryErrors(problems)
        patients = _patients_of(doomed)
        for model in (*_OBJECTS, models.Association):
            model.objects.filter(entry_uuid__in=doomed).delete()
        models.ObjectCode.objects.filter(entry_uuid__in=doomed).delete()
        models.ObjectValue.objects.filter(entry_uuid__in=doomed).delete()
        audit.record(patient_record(transaction="ITI-62", action="D",
                                    sender=Peer(user_id=source, host=source_host),
                                    receiver=this_node(destination), patient_ids=patients,
                                    removed=sorted(doomed)))
    return patients


def _patients_of(doomed: set[str]) -> list[str]:
    """The patients of the removed objects, and of the objects the removed associations join."""
    ends = models.Association.objects.filter(entry_uuid__in=doomed).values_list("source_uuid", "target_uuid")
    named = doomed | {uuid for pair in ends for uuid in pair}
    found = {pid for model in _OBJECTS
             for pid in model.objects.filter(entry_uuid__in=named).values_list("patient_id", flat=True)}
    return sorted(found)
