"""Value formats of XDS metadata: where the registry is strict, and where the field is not."""

from registry.validation.formats import is_oid, is_source_id


def test_a_source_id_outside_isos_first_arcs_is_accepted_as_nist_sends_it() -> None:
    assert is_source_id("129.6.58.92.1.1")
    assert not is_oid("129.6.58.92.1.1")


def test_a_source_id_with_a_leading_zero_or_letters_is_refused() -> None:
    assert not is_source_id("1.02.3")
    assert not is_source_id("1.2.three")
    assert not is_source_id("1")
