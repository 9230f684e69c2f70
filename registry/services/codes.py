"""Domain: the affinity domain's value sets (ITI TF-3 4.2.3.2) loaded from a table of rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from audit import services as audit
from audit.events import SOFTWARE_CONFIGURATION, Peer, security_alert
from registry.models import CodeValue

# The coded attributes whose values the registry checks (registry.validation.stored.check_codes).
KINDS = ("classCode", "typeCode", "formatCode", "healthcareFacilityTypeCode", "practiceSettingCode",
         "confidentialityCode", "eventCodeList", "contentTypeCode", "codeList")
_LENGTHS = {name: getattr(CodeValue._meta.get_field(name), "max_length", None)
            for name in ("kind", "code", "scheme", "display_name")}


@dataclass(frozen=True)
class CodeRow:
    """One row of an import, with the line of the file it came from."""

    line: int
    kind: str
    code: str
    scheme: str
    display_name: str


class CodeValuesRefused(ValueError):
    """The rows cannot be imported; nothing was changed. The message names the line."""


def code_values_import(*, rows: Sequence[CodeRow], actor: Peer) -> tuple[int, int]:
    """Insert each (kind, code, scheme) not held and update the display name of each held, all
    or nothing, audited once as a Security Alert of Software Configuration. Raises
    CodeValuesRefused on the first bad row. Returns (inserted, updated)."""
    for row in rows:
        _check(row)
    wanted = {(r.kind, r.code, r.scheme): r.display_name for r in rows}
    with transaction.atomic():
        held = {(v.kind, v.code, v.scheme): v for v in CodeValue.objects.select_for_update().filter(
            kind__in={k for k, _, _ in wanted}, code__in={c for _, c, _ in wanted})}
        new = [CodeValue(kind=k, code=c, scheme=s, display_name=name)
               for (k, c, s), name in wanted.items() if (k, c, s) not in held]
        changed = []
        for key, name in wanted.items():
            value = held.get(key)
            if value is not None and value.display_name != name:
                value.display_name = name
                changed.append(value)
        CodeValue.objects.bulk_create(new, batch_size=1_000)
        CodeValue.objects.bulk_update(changed, ["display_name"], batch_size=1_000)
        audit.record(security_alert(
            type_code=SOFTWARE_CONFIGURATION, outcome=0, performer=actor, subject="registry.codevalue",
            subject_type="uri", description=(f"value sets imported by {actor.user_id}: {len(rows)} rows, "
                                             f"{len(new)} codes added, {len(changed)} names changed")))
    return len(new), len(changed)


def _check(row: CodeRow) -> None:
    if row.kind not in KINDS:
        raise CodeValuesRefused(f"line {row.line}: kind {row.kind!r} is not one of {', '.join(KINDS)}")
    for name in ("code", "scheme", "display_name"):
        if not getattr(row, name).strip():
            raise CodeValuesRefused(f"line {row.line}: {name} is empty")
    for name, longest in _LENGTHS.items():
        if longest is not None and len(getattr(row, name)) > longest:
            raise CodeValuesRefused(f"line {row.line}: {name} is longer than {longest} characters")
