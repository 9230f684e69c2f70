"""`manage.py empi_link` loads hospital A's and B's records of the same people onto shared persons,
in one batch or row by row;
`manage.py empi_train` trains the matcher on them and stores the active parameters."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from empi.models import LinkEvent, MatchParameters, PatientRecord, Person, ReviewItem
from registry.models import PatientIdentity
from tests.empi.conftest import Domain
from tests.empi.matching_people import two_hospitals

pytestmark = pytest.mark.django_db

HOSPITAL_A = "1.3.6.1.4.1.21367.13.20.1000"
HOSPITAL_B = "1.3.6.1.4.1.21367.13.20.2000"

# The same three people at both hospitals, B's with the typos of a second registration.
LOAD = f"""authority,identifier,given,family,birth_date,sex,street,city,postcode,phone
{HOSPITAL_A},A123,Jane,Doe,19800101,F,12 High Street,Springfield,12345,555-0101-234
{HOSPITAL_A},A124,Waldo,Smithers,19511120,M,1 Elm Road,Shelbyville,99887,555-0199-000
{HOSPITAL_A},A125,Otto,Klein,19700707,M,7 Mill Lane,Ogdenville,55501,555-0177-123
{HOSPITAL_B},B777,Jaen,Doe,19800101,F,12 High St,Springfield,12345,555-0101-234
{HOSPITAL_B},B778,Waldo,Smithers,19511120,M,1 Elm Rd,Shelbyville,99887,555-0199-000
{HOSPITAL_B},B779,Otto,Klein,19700707,M,7 Mill Ln,Ogdenville,55501,555-0177-123
9.9.9.9,X1,Nobody,Known,19990101,F,,,,
"""


def load(tmp_path: Path, text: str = LOAD) -> str:
    csv_file = tmp_path / "load.csv"
    csv_file.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("empi_link", str(csv_file), stdout=out, stderr=StringIO())
    return out.getvalue()


def test_empi_link_puts_each_persons_records_from_both_hospitals_on_one_person(
        domain: Domain, tmp_path: Path) -> None:
    printed = load(tmp_path)

    assert Person.objects.count() == 3
    for a, b in (("A123", "B777"), ("A124", "B778"), ("A125", "B779")):
        person_at_a = PatientRecord.objects.get(identifier=a).person
        assert PatientRecord.objects.get(identifier=b).person == person_at_a
    assert "3 new persons, 3 linked" in printed and "1 skipped" in printed and "rows/s" in printed


def test_empi_link_prints_no_patient_data_for_a_skipped_row(domain: Domain, tmp_path: Path) -> None:
    csv_file = tmp_path / "load.csv"
    csv_file.write_text(LOAD, encoding="utf-8")
    err = StringIO()
    call_command("empi_link", str(csv_file), stdout=StringIO(), stderr=err)
    assert "line 8: skipped" in err.getvalue() and "X1" not in err.getvalue()


def test_empi_link_loaded_again_updates_and_links_nothing_new(domain: Domain, tmp_path: Path) -> None:
    load(tmp_path)
    printed = load(tmp_path)
    assert "6 updated" in printed and Person.objects.count() == 3


def test_empi_train_stores_a_new_active_version_of_the_match_parameters(
        domain: Domain, tmp_path: Path) -> None:
    load(tmp_path)
    out = StringIO()

    call_command("empi_train", "--max-pairs", "2000", stdout=out)
    call_command("empi_train", "--max-pairs", "2000", stdout=out)

    active = MatchParameters.objects.get(active=True)
    assert active.version == 2 and MatchParameters.objects.count() == 2
    assert "Stored match parameters v2" in out.getvalue() and "birth_date" in out.getvalue()


def people_csv(tmp_path: Path) -> Path:
    """Hospital A's records of 150 synthetic people (and twins), then B's of about 60% of them."""
    a, b = two_hospitals(150, seed=5)
    lines = ["authority,identifier,given,family,birth_date,sex,street,city,postcode,phone"]
    for oid, prefix, records in ((HOSPITAL_A, "A", a), (HOSPITAL_B, "B", b)):
        lines += [f"{oid},{prefix}{key},{r.given},{r.family},{r.birth_date},{r.sex},{r.street},"
                  f"{r.city},{r.postcode},{r.phone}" for key, r in records]
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_file


def partition() -> set[frozenset[str]]:
    persons: dict[int, set[str]] = {}
    for identifier, person in PatientRecord.objects.values_list("identifier", "person_id"):
        persons.setdefault(person, set()).add(identifier)
    return {frozenset(members) for members in persons.values()}


def test_a_bulk_load_gives_the_persons_feeding_the_rows_one_by_one_gives(
        domain: Domain, tmp_path: Path) -> None:
    csv_file = people_csv(tmp_path)
    call_command("empi_link", str(csv_file), "--one-by-one", stdout=StringIO(), stderr=StringIO())
    one_by_one = partition()
    for model in (ReviewItem, LinkEvent, PatientRecord, Person, PatientIdentity):
        model.objects.all().delete()

    out = StringIO()
    call_command("empi_link", str(csv_file), stdout=out, stderr=StringIO())

    assert partition() == one_by_one
    assert any(len(members) == 2 for members in one_by_one)
    known = set(PatientIdentity.objects.values_list("patient_id", flat=True))
    assert set(Person.objects.values_list("enterprise_id", flat=True)) <= known
    assert LinkEvent.objects.count() == PatientRecord.objects.count()
    assert "new persons" in out.getvalue()


def test_a_bulk_load_records_its_links_with_their_scores_and_one_audit_event(
        domain: Domain, tmp_path: Path) -> None:
    before = AuditEvent.objects.count()

    load(tmp_path)

    linked = LinkEvent.objects.filter(reason="initial load: matched")
    assert linked.count() == 3
    assert all(e.score is not None and e.score >= 20 and "given" in e.weights for e in linked)
    assert AuditEvent.objects.count() == before + 1
