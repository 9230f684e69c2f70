"""Blocking keys: each rule's key, none from a rule missing a field, swapped names share one."""

from __future__ import annotations

from empi.matching.blocking import RULES, blocking_keys
from empi.matching.compare import phonetic
from empi.matching.record import demographics


def test_a_full_record_has_a_key_per_rule() -> None:
    record = demographics(given="William", family="Smith", birth_date="19780312", sex="M",
                          street="12 High Street", city="Leeds", postcode="2000",
                          phone="0412 345 678", national_id="123456789")
    keys = blocking_keys(record)
    assert {key.split(":")[0] for key in keys} == set(RULES)
    assert f"surname_year:{phonetic('SMITH')}|1978" in keys
    assert "initial_dob:W|19780312" in keys
    assert "postcode_dob:2000|19780312" in keys
    assert "phone:0412345678" in keys
    assert "national_id:123456789" in keys
    assert "birth_date:19780312" in keys
    assert "name_prefixes:SMI|WIL" in keys
    assert "postcode_street:2000|12 HIG" in keys


def test_a_rule_missing_a_field_gives_no_key() -> None:
    keys = blocking_keys(demographics(given="William", family="Smith"))
    assert {key.split(":")[0] for key in keys} == {"names", "name_prefixes"}
    assert blocking_keys(demographics()) == set()


def test_swapped_names_share_a_key() -> None:
    a = demographics(given="Wei", family="Chen", birth_date="19800101")
    b = demographics(given="Chen", family="Wei", birth_date="19900101")
    assert blocking_keys(a) & blocking_keys(b)


def test_the_same_person_with_a_typo_shares_a_key() -> None:
    a = demographics(given="Anna", family="Jones", birth_date="19800101", postcode="1234")
    b = demographics(given="Ana", family="Jnoes", birth_date="19800101", postcode="1243")
    assert blocking_keys(a) & blocking_keys(b)
