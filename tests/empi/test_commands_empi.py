"""`manage.py empi_link` loads hospital A's and B's records of the same people onto shared persons;
`manage.py empi_train` trains the matcher on them and stores the active parameters."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from empi.models import MatchParameters, PatientRecord, Person
from tests.empi.conftest import Domain

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
