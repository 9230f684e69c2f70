"""Domain: the registry's reads for the operators' console: what an object is joined to, the
display names of codes, and what deleting entries takes with it. One query per kind of object,
never one per row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from registry import metadata, models


@dataclass
class Related:
    """The associations that name an object, and the objects at their other ends, by entryUUID."""

    associations: list[models.Association] = field(default_factory=list)
    submission_sets: dict[str, models.SubmissionSet] = field(default_factory=dict)
    folders: dict[str, models.Folder] = field(default_factory=dict)
    entries: dict[str, models.DocumentEntry] = field(default_factory=dict)


def objects_related(entry_uuid: str) -> Related:
    """Every association from or to the object, with the objects they join it to."""
    associations = list(models.Association.objects.filter(
        Q(source_uuid=entry_uuid) | Q(target_uuid=entry_uuid)).order_by("id"))
    ends = {a.source_uuid for a in associations} | {a.target_uuid for a in associations}
    return _with_ends(associations, ends)


def members_of(package_uuid: str) -> Related:
    """A submission set's or folder's HasMember associations and their targets."""
    associations = list(models.Association.objects.filter(
        source_uuid=package_uuid, association_type=metadata.HAS_MEMBER).order_by("id"))
    return _with_ends(associations, {a.target_uuid for a in associations})


def _with_ends(associations: list[models.Association], uuids: set[str]) -> Related:
    return Related(
        associations=associations,
        submission_sets={s.entry_uuid: s for s in models.SubmissionSet.objects.filter(entry_uuid__in=uuids)},
        folders={f.entry_uuid: f for f in models.Folder.objects.filter(entry_uuid__in=uuids)},
        entries={e.entry_uuid: e for e in models.DocumentEntry.objects.filter(entry_uuid__in=uuids)})


def display_names(codes: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
    """The value sets' display name of each (kind, code, scheme) known, in one query; a code
    held under another kind (the same LOINC code as classCode and typeCode) lends its name."""
    wanted = set(codes)
    if not wanted:
        return {}
    rows = models.CodeValue.objects.filter(code__in={c for _, c, _ in wanted}).values_list(
        "kind", "code", "scheme", "display_name")
    exact = {(k, c, s): name for k, c, s, name in rows}
    loose = {(c, s): name for _k, c, s, name in rows}
    return {(k, c, s): exact.get((k, c, s)) or loose[(c, s)] for k, c, s in wanted
            if (k, c, s) in exact or (c, s) in loose}


@dataclass
class Removal:
    """What an ITI-62 delete of DocumentEntries removes from the registry, and the uniqueIds of
    this repository's documents no entry names any more (their bytes go too, by ITI-86)."""

    entries: list[models.DocumentEntry]
    associations: list[models.Association]
    unique_ids_freed: list[str]

    @property
    def entry_uuids(self) -> list[str]:
        return [e.entry_uuid for e in self.entries] + [a.entry_uuid for a in self.associations]


def removal_of(entries: Sequence[models.DocumentEntry], *, repository_unique_id: str) -> Removal:
    """ITI TF-2b 3.62.4.1.3: an object goes with every association naming it, and with those
    naming such an association (a folder membership is a member of its submission set)."""
    doomed = {e.entry_uuid for e in entries}
    associations: dict[str, models.Association] = {}
    ends = set(doomed)
    while ends:
        naming = models.Association.objects.filter(Q(source_uuid__in=ends) | Q(target_uuid__in=ends))
        found = [a for a in naming if a.entry_uuid not in associations]
        associations.update((a.entry_uuid, a) for a in found)
        ends = {a.entry_uuid for a in found}
    # Versions and re-registrations share a uniqueId: the bytes stay while another entry names them.
    here = {e.unique_id for e in entries if e.repository_unique_id == repository_unique_id}
    still_named = set(models.DocumentEntry.objects.filter(unique_id__in=here).exclude(entry_uuid__in=doomed)
                      .values_list("unique_id", flat=True))
    return Removal(entries=list(entries), associations=sorted(associations.values(), key=lambda a: a.pk),
                   unique_ids_freed=sorted(here - still_named))
