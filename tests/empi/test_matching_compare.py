"""Comparison levels per field: names, birth dates, codes, sex; a missing value is neutral."""

from __future__ import annotations

from empi.matching.compare import (
    CODE_LEVELS,
    DATE_LEVELS,
    FAMILY_LEVELS,
    NAME_LEVELS,
    STREET_LEVELS,
    compare,
    nicknames_agree,
)
from empi.matching.record import demographics


def level_name(levels: tuple[str, ...], level: int | None) -> str | None:
    return None if level is None else levels[level]


def test_the_same_given_name_is_exact() -> None:
    a = demographics(given="William", family="Smith")
    assert level_name(NAME_LEVELS, compare(a, a)["given"]) == "exact"


def test_bill_is_a_nickname_of_william() -> None:
    levels = compare(demographics(given="William"), demographics(given="Bill"))
    assert level_name(NAME_LEVELS, levels["given"]) == "nickname"
    assert nicknames_agree("BILLY", "WILLIAM")


def test_a_given_name_typo_is_close_jaro_winkler() -> None:
    levels = compare(demographics(given="Margaret"), demographics(given="Margaert"))
    assert level_name(NAME_LEVELS, levels["given"]) == "jw_0.92"


def test_names_that_sound_alike_agree_phonetically() -> None:
    levels = compare(demographics(family="Philips"), demographics(family="Fylyps"))
    assert level_name(FAMILY_LEVELS, levels["family"]) == "phonetic"


def test_different_given_names_are_else() -> None:
    levels = compare(demographics(given="Mary"), demographics(given="Deborah"))
    assert level_name(NAME_LEVELS, levels["given"]) == "else"


def test_given_and_family_swapped_are_detected_on_both_names() -> None:
    a = demographics(given="Chen", family="Wei")
    b = demographics(given="Wei", family="Chen")
    levels = compare(a, b)
    assert level_name(NAME_LEVELS, levels["given"]) == "swapped"
    assert level_name(FAMILY_LEVELS, levels["family"]) == "swapped"


def test_a_married_name_matches_the_other_records_maiden_name() -> None:
    maiden = demographics(given="Anna", family="Jones")
    married = demographics(given="Anna", family="Harris", other_family=("Jones",))
    assert level_name(FAMILY_LEVELS, compare(maiden, married)["family"]) == "other_family"
    assert level_name(FAMILY_LEVELS, compare(married, maiden)["family"]) == "other_family"


def test_birth_dates_exact_swapped_one_edit_same_year_else() -> None:
    def level(a: str, b: str) -> str | None:
        return level_name(DATE_LEVELS, compare(demographics(birth_date=a),
                                               demographics(birth_date=b))["birth_date"])

    assert level("19780312", "19780312") == "exact"
    assert level("19780312", "19781203") == "day_month_swapped"
    assert level("19780312", "19780313") == "dl_1"
    assert level("19780312", "19870312") == "dl_1"  # the year's digits transposed
    assert level("19780312", "19780921") == "same_year"
    assert level("19780312", "19650101") == "else"


def test_codes_exact_one_edit_else() -> None:
    def level(a: str, b: str) -> str | None:
        return level_name(CODE_LEVELS, compare(demographics(postcode=a, phone=a, national_id=a),
                                               demographics(postcode=b, phone=b, national_id=b))
                          ["national_id"])

    assert level("123456789", "123456789") == "exact"
    assert level("123456789", "123456798") == "dl_1"  # a transposition is one edit
    assert level("123456789", "123456780") == "dl_1"
    assert level("123456789", "987654321") == "else"


def test_sex_is_exact_or_else_and_unknown_sex_is_missing() -> None:
    assert compare(demographics(sex="F"), demographics(sex="F"))["sex"] == 0
    assert compare(demographics(sex="F"), demographics(sex="M"))["sex"] == 1
    assert compare(demographics(sex="U"), demographics(sex="M"))["sex"] is None


def test_a_value_missing_on_either_side_gives_no_level() -> None:
    full = demographics(given="Anna", family="Jones", birth_date="19800101", sex="F",
                        street="1 High Street", city="Leeds", postcode="LS1 4AB",
                        phone="0113 496 0000", national_id="943 476 5919")
    empty = demographics()
    assert set(compare(full, empty).values()) == {None}
    assert set(compare(empty, full).values()) == {None}


def test_a_street_keeps_its_house_number_and_a_renamed_street_still_shares_it() -> None:
    assert demographics(street="12, High St.").street == "12 HIGH ST"
    levels = compare(demographics(street="12 High Street"), demographics(street="12 Kilburnie"))
    assert level_name(STREET_LEVELS, levels["street"]) == "same_number"
    levels = compare(demographics(street="12 High Street"), demographics(street="40 Kilburnie"))
    assert level_name(STREET_LEVELS, levels["street"]) == "else"


def test_swapped_names_with_a_typo_are_still_swapped() -> None:
    levels = compare(demographics(given="Daniel", family="Ang"), demographics(given="Ang", family="Danile"))
    assert level_name(NAME_LEVELS, levels["given"]) == "swapped"
