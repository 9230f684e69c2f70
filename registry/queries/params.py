"""Stored query parameters: their declarations and the checks of ITI TF-2a 3.18.4.1.2.3."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from registry import errors

Kind = Literal["string", "time", "code", "number"]


@dataclass(frozen=True)
class Value:
    """One value as the request coded it: quoted ('...') or bare (a number, a time)."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Param:
    """A parameter of one stored query (ITI TF-2a Tables 3.18.4.1.2.3.7.x-1)."""

    name: str
    required: bool = False
    multiple: bool = False
    and_or: bool = False  # repeated Slots are ANDed (ITI TF-2a 3.18.4.1.2.3.6.2)
    kind: Kind = "string"


class Code(NamedTuple):
    """A coded value of a parameter, 'code^^^scheme' (ITI TF-2a 3.18.4.1.2.3.6.3)."""

    code: str
    scheme: str = ""  # empty: any scheme


# A name -> one list per Slot (its values ORed); several lists only for AND-able parameters.
Slots = dict[str, list[list[Value]]]


@dataclass
class Params:
    """The checked parameters of one query: look them up by their $name."""

    values: dict[str, list[list[Value]]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.values

    def strings(self, name: str) -> list[str]:
        return [v.text for group in self.values.get(name, []) for v in group]

    def string(self, name: str) -> str | None:
        found = self.strings(name)
        return found[0] if found else None

    def codes(self, name: str) -> list[Code]:
        return [to_code(v.text) for v in (g for group in self.values.get(name, []) for g in group)]

    def code_groups(self, name: str) -> list[list[Code]]:
        """Each Slot's codes: OR within a group, AND across groups."""
        return [[to_code(v.text) for v in group] for group in self.values.get(name, [])]

    def time(self, name: str) -> str | None:
        found = self.string(name)
        return pad_dtm(found) if found is not None else None


def to_code(text: str) -> Code:
    code, _, scheme = text.partition("^^^")
    return Code(code, scheme)


def pad_dtm(text: str) -> str:
    """A DTM padded to 14 digits, as the registry stores it (ITI TF-3 Table 4.2.3.1.7-2)."""
    return text.ljust(14, "0")[:14]


def check(declared: list[Param], slots: Slots, *, exclusive: tuple[tuple[str, ...], ...] = ()) -> Params:
    """The parameters a query declares, checked; every problem reported at once."""
    problems: list[errors.RegistryError] = []
    by_name = {p.name: p for p in declared}
    checked: dict[str, list[list[Value]]] = {}
    for name, groups in slots.items():
        param = by_name.get(name)
        if param is None:
            continue  # not one of this query's parameters: ignored
        count = sum(len(g) for g in groups)
        if not param.multiple and count > 1:
            problems.append(errors.RegistryError(
                errors.STORED_QUERY_PARAM_NUMBER, f"Parameter {name} takes a single value; "
                f"it was given {count}.", name))
            continue
        if not param.and_or and len(groups) > 1:
            groups = [[v for g in groups for v in g]]  # OR: repeated Slots merge
        problems.extend(_check_values(param, groups))
        checked[name] = groups
    for param in declared:
        if param.required and param.name not in slots:
            problems.append(errors.RegistryError(
                errors.STORED_QUERY_MISSING_PARAM, f"Required parameter {param.name} is missing.",
                param.name))
    for names in exclusive:
        present = [n for n in names if n in checked]
        if len(present) != 1:
            problems.append(errors.RegistryError(
                errors.STORED_QUERY_PARAM_NUMBER if present else errors.STORED_QUERY_MISSING_PARAM,
                f"Exactly one of {', '.join(names)} is required; "
                f"{'got ' + ', '.join(present) if present else 'none was given'}.",
                ", ".join(names)))
    if any(p.is_error for p in problems):
        raise errors.RegistryErrors(problems)
    return Params(checked)


def _check_values(param: Param, groups: list[list[Value]]) -> list[errors.RegistryError]:
    # ITI TF-2a 3.18.4.1.2.3.6: strings are quoted, times and numbers are not. A value the
    # query cannot be run with is an XDSRegistryError (ITI TF-3 Table 4.2.4.1-2: "the
    # registry could not process the request"): the standard names no narrower code.
    found: list[errors.RegistryError] = []
    for value in (v for g in groups for v in g):
        text = value.text
        bad = ""
        if param.kind in ("time", "number"):
            if not (text.isdigit() and text.isascii()):
                bad = "a number"
            elif param.kind == "time" and (len(text) < 4 or len(text) > 14 or len(text) % 2):
                bad = "a DTM time: YYYY[MM[DD[hh[mm[ss]]]]]"
        elif param.kind == "code" and (not text or text.startswith("^")):
            bad = "a code, 'code^^^scheme'"
        elif not text:
            bad = "a value"
        if bad:
            found.append(errors.RegistryError(
                errors.REGISTRY_ERROR, f"Parameter {param.name} must be {bad}; got {text!r}.",
                param.name))
    return found
