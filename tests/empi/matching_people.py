"""Synthetic people and their hospital records, with the errors real registrations carry.

Each person gets one clean record at hospital A and, for most, a second at hospital B with at most
a couple of errors: a typo, a nickname, given and family names swapped, day and month swapped, a
moved address, a married name (the maiden name kept as other_family), a lost value. Some people
have a twin: same family name, birth date and address, another given name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from empi.matching.record import Demographics, demographics

GIVEN_F = ("MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "BARBARA", "SUSAN", "JESSICA",
           "SARAH", "KAREN", "NANCY", "MARGARET", "LISA", "BETTY", "DOROTHY", "SANDRA", "ASHLEY",
           "KIMBERLY", "DONNA", "EMILY", "MICHELLE", "CAROL", "AMANDA", "MELISSA", "DEBORAH",
           "STEPHANIE", "REBECCA", "LAURA", "HELEN", "SHARON", "CYNTHIA", "KATHLEEN", "AMY",
           "SHIRLEY", "ANGELA", "ANNA", "RUTH", "BRENDA", "PAMELA", "NICOLE", "KATHERINE",
           "VIRGINIA", "CATHERINE", "CHRISTINE", "SAMANTHA", "DEBRA", "JANET", "RACHEL", "CAROLYN",
           "EMMA", "MARIA", "HEATHER", "DIANE", "JULIE", "JOYCE", "EVELYN", "FRANCES", "JOAN",
           "CHRISTINA", "KELLY", "VICTORIA", "LAUREN", "MARTHA", "JUDITH", "CHERYL", "MEGAN",
           "ANDREA", "ANN", "ALICE", "JEAN", "DORIS", "JACQUELINE", "KATHRYN", "HANNAH", "OLIVIA")
GIVEN_M = ("JAMES", "JOHN", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "RICHARD", "JOSEPH", "THOMAS",
           "CHARLES", "CHRISTOPHER", "DANIEL", "MATTHEW", "ANTHONY", "DONALD", "MARK", "PAUL",
           "STEVEN", "ANDREW", "KENNETH", "JOSHUA", "KEVIN", "BRIAN", "GEORGE", "EDWARD", "RONALD",
           "TIMOTHY", "JASON", "JEFFREY", "RYAN", "JACOB", "GARY", "NICHOLAS", "ERIC", "JONATHAN",
           "STEPHEN", "LARRY", "JUSTIN", "SCOTT", "BRANDON", "BENJAMIN", "SAMUEL", "FRANK",
           "GREGORY", "RAYMOND", "ALEXANDER", "PATRICK", "JACK", "DENNIS", "JERRY", "TYLER",
           "AARON", "JOSE", "HENRY", "ADAM", "DOUGLAS", "NATHAN", "PETER", "ZACHARY", "KYLE",
           "WALTER", "HAROLD", "JEREMY", "ETHAN", "CARL", "KEITH", "ROGER", "GERALD", "CHRISTIAN")
NICKNAMES = {"WILLIAM": "BILL", "ROBERT": "BOB", "RICHARD": "DICK", "JAMES": "JIM",
             "ELIZABETH": "LIZ", "MARGARET": "PEGGY", "KATHERINE": "KATE", "MICHAEL": "MIKE",
             "JOSEPH": "JOE", "THOMAS": "TOM", "CHARLES": "CHUCK", "PATRICIA": "PATTY",
             "JENNIFER": "JENNY", "DANIEL": "DAN", "ANTHONY": "TONY", "EDWARD": "TED",
             "SUSAN": "SUE", "DEBORAH": "DEBBIE", "REBECCA": "BECKY", "ALEXANDER": "ALEX"}
SYLLABLES = ("AN", "BER", "CO", "DAL", "EN", "FOR", "GAR", "HAL", "IN", "JON", "KEL", "LA", "MOR",
             "NEL", "OS", "PER", "QUIN", "ROS", "SON", "TER", "UL", "VAN", "WIL", "YOR", "ZE")
STREETS = ("HIGH", "STATION", "CHURCH", "MAIN", "PARK", "VICTORIA", "GREEN", "MANOR", "KINGS",
           "QUEEN", "MILL", "SCHOOL", "NEW", "GEORGE", "GROVE", "ALEXANDER", "YORK", "WEST")
CITIES = tuple(f"{a}{b}" for a in ("ASH", "BROOK", "CLIF", "DUN", "ELM", "FAIR", "GLEN", "HOLM")
               for b in ("FORD", "TON", "BURY", "FIELD", "WOOD"))


@dataclass(frozen=True)
class Person:
    key: int
    record: Demographics


def _surnames(rng: random.Random, count: int) -> list[str]:
    common = ["SMITH", "JONES", "WILLIAMS", "BROWN", "TAYLOR", "DAVIES", "WILSON", "EVANS",
              "THOMAS", "JOHNSON", "ROBERTS", "WALKER", "WRIGHT", "ROBINSON", "THOMPSON"]
    names = set(common)
    while len(names) < count:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))))
    return sorted(names)


def people(count: int, *, seed: int = 0, twins: float = 0.01) -> list[Person]:
    """count people (plus their twins), each with a clean record."""
    rng = random.Random(seed)
    surnames = _surnames(rng, max(50, count // 20))
    # Zipf-like, the most common surname about 1% of people as in English-speaking countries.
    weights = [1.0 / (rank + 20) for rank in range(len(surnames))]
    out: list[Person] = []
    for _ in range(count):
        sex = rng.choice("FM")
        record = demographics(
            given=rng.choice(GIVEN_F if sex == "F" else GIVEN_M),
            family=rng.choices(surnames, weights)[0],
            birth_date=f"{rng.randint(1930, 2020)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
            sex=sex, street=f"{rng.randint(1, 200)} {rng.choice(STREETS)} STREET",
            city=rng.choice(CITIES), postcode=f"{rng.randint(1000, 2999)}",
            phone=f"07{rng.randint(100_000_000, 999_999_999)}")
        out.append(Person(len(out), record))
        if rng.random() < twins:
            twin_sex = rng.choice("FM")
            names = [n for n in (GIVEN_F if twin_sex == "F" else GIVEN_M) if n != record.given]
            out.append(Person(len(out), replace(record, given=rng.choice(names), sex=twin_sex,
                                                phone=f"07{rng.randint(100_000_000, 999_999_999)}")))
    return out


def typo(rng: random.Random, value: str) -> str:
    """One keying error: two letters transposed, one dropped or one replaced."""
    if len(value) < 3:
        return value
    i = rng.randrange(1, len(value) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return value[:i] + value[i + 1] + value[i] + value[i + 2:]
    if kind == 1:
        return value[:i] + value[i + 1:]
    return value[:i] + rng.choice("AEIOURSTNL") + value[i + 1:]


def digit_typo(rng: random.Random, value: str) -> str:
    """One digit replaced (a birth date or a postcode keyed wrong)."""
    i = rng.randrange(len(value))
    return value[:i] + rng.choice("0123456789".replace(value[i], "")) + value[i + 1:]


def with_errors(rng: random.Random, record: Demographics) -> Demographics:
    """A second registration of the same person with one or two realistic errors."""
    out = record
    for _ in range(rng.choice((1, 1, 2))):
        kind = rng.randrange(9)
        if kind == 0:
            out = replace(out, given=typo(rng, out.given))
        elif kind == 1:
            out = replace(out, family=typo(rng, out.family))
        elif kind == 2 and out.given in NICKNAMES:
            out = replace(out, given=NICKNAMES[out.given])
        elif kind == 3:
            out = replace(out, given=out.family, family=out.given)
        elif kind == 4 and int(out.birth_date[6:8]) <= 12:
            d = out.birth_date
            out = replace(out, birth_date=d[:4] + d[6:8] + d[4:6])
        elif kind == 5:
            out = replace(out, street=f"{rng.randint(1, 200)} {rng.choice(STREETS)} ROAD",
                          city=rng.choice(CITIES), postcode=f"{rng.randint(1000, 2999)}")
        elif kind == 6 and out.sex == "F":
            out = replace(out, family=rng.choice(("HARRIS", "MARTIN", "CLARKE", "LEWIS")),
                          other_family=(out.family,))
        elif kind == 7:
            out = replace(out, phone="")
        else:
            birth_date = digit_typo(rng, out.birth_date)
            if rng.random() < 0.5 and _plausible(birth_date):
                out = replace(out, birth_date=birth_date)
            else:
                out = replace(out, postcode=digit_typo(rng, out.postcode))
    return out


def _plausible(value: str) -> bool:
    return "01" <= value[4:6] <= "12" and "01" <= value[6:8] <= "28"


def two_hospitals(count: int, *, seed: int = 0, duplicates: float = 0.6
                  ) -> tuple[list[tuple[int, Demographics]], list[tuple[int, Demographics]]]:
    """Hospital A's records of count people (and twins); hospital B's of some of them, with errors.

    Each record comes with its person's key: equal keys are one person.
    """
    rng = random.Random(seed + 1)
    everyone = people(count, seed=seed)
    a = [(p.key, p.record) for p in everyone]
    b = [(p.key, with_errors(rng, p.record)) for p in everyone if rng.random() < duplicates]
    return a, b
