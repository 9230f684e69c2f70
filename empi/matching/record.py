"""What a source record says of a person, as the matcher reads it (ITI TF-2a 3.8.4.1.2.3: PID-5,
PID-7, PID-8, PID-11, PID-13, PID-19, PID-6).

Values are normalised once, when the record is built: upper case, ASCII letters only for names
(letters and digits for the street), YYYYMMDD for dates, digits only for phones and postcodes.
Empty means unknown, and an unknown value is neutral in scoring (neither agreement nor
disagreement).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_NOT_NAME = re.compile(r"[^A-Z ]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_NOT_ADDRESS = re.compile(r"[^A-Z0-9 ]+")


@dataclass(frozen=True)
class Demographics:
    given: str = ""  # first given name
    middle: str = ""  # further given names, space-separated
    family: str = ""
    birth_date: str = ""  # YYYYMMDD
    sex: str = ""  # HL7 table 0001: F, M, O, U, A, N
    street: str = ""
    city: str = ""
    postcode: str = ""
    phone: str = ""
    national_id: str = ""
    mothers_maiden_name: str = ""
    # Other family names the person is known by (a maiden name, a previous married name).
    other_family: tuple[str, ...] = ()


def name(value: str) -> str:
    """A name as the matcher compares it: accents stripped, upper case, letters and single spaces."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return " ".join(_NOT_NAME.sub(" ", folded.upper().replace("-", " ")).split())


def address(value: str) -> str:
    """A street line as the matcher compares it: like a name, but house numbers kept."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return " ".join(_NOT_ADDRESS.sub(" ", folded.upper().replace("-", " ")).split())


def digits(value: str) -> str:
    return _NOT_DIGIT.sub("", value)


def date(value: str) -> str:
    """YYYYMMDD from an HL7 DTM/DT (its first 8 digits), "" when it is not a plausible date."""
    found = digits(value)[:8]
    return found if len(found) == 8 and found[4:6] <= "12" and found[6:8] <= "31" else ""


def demographics(*, given: str = "", middle: str = "", family: str = "", birth_date: str = "",
                 sex: str = "", street: str = "", city: str = "", postcode: str = "", phone: str = "",
                 national_id: str = "", mothers_maiden_name: str = "",
                 other_family: tuple[str, ...] = ()) -> Demographics:
    """Demographics from raw values, normalised."""
    return Demographics(
        given=name(given), middle=name(middle), family=name(family), birth_date=date(birth_date),
        sex=sex.strip().upper()[:1], street=address(street), city=name(city),
        postcode=digits(postcode) or name(postcode).replace(" ", ""), phone=digits(phone)[-10:],
        national_id=digits(national_id) or name(national_id).replace(" ", ""),
        mothers_maiden_name=name(mothers_maiden_name),
        other_family=tuple(n for n in (name(f) for f in other_family) if n))
