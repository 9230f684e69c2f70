"""The affinity domain's value sets in the console: the operator imports them from CSV (all rows
or none, audited once) and exports them; the data steward only reads them, the auditor not at all."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from organisations.roles import AUDITOR, DATA_STEWARD, OPERATOR
from registry.admin_codes import MAX_BYTES
from registry.models import CodeValue
from tests.console import assert_no_query_per_row, signed_in

pytestmark = pytest.mark.django_db

CODES = "/admin/registry/codevalue/"
IMPORT = f"{CODES}import/"
LOINC = "2.16.840.1.113883.6.1"


@pytest.fixture(autouse=True)
def quick_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def upload(client: Client, content: bytes) -> Any:
    return client.post(IMPORT, {"file": SimpleUploadedFile("codes.csv", content, "text/csv")}, follow=True)


def imports_audited() -> list[AuditEvent]:
    return [e for e in AuditEvent.objects.filter(event_id="110113") if "value sets imported" in str(e.record)]


def held(kind: str, code: str, scheme: str) -> str | None:
    found = CodeValue.objects.filter(kind=kind, code=code, scheme=scheme).first()
    return found.display_name if found else None


def test_the_operator_imports_codes_adding_new_ones_and_renaming_held_ones(client: Client) -> None:
    CodeValue.objects.update_or_create(kind="classCode", code="18748-4", scheme=LOINC,
                                       defaults={"display_name": "old name"})
    operator = signed_in(client, OPERATOR)
    assert "Import from CSV" in operator.get(CODES).content.decode()

    page = upload(operator, ("kind,code,scheme,display_name\r\n"
                             f"classCode,18748-4,{LOINC},Diagnostic imaging study\r\n"
                             f"typeCode,99999-9,{LOINC},\"Key images, selected\"\r\n").encode())

    assert "2 rows imported: 1 codes added, 1 display names changed" in page.content.decode()
    assert held("classCode", "18748-4", LOINC) == "Diagnostic imaging study"
    assert held("typeCode", "99999-9", LOINC) == "Key images, selected"
    assert len(imports_audited()) == 1


@pytest.mark.parametrize(("content", "why"), [
    (f"kind,code,scheme,display_name\nclassCode,X1,{LOINC},One\nshoeSize,42,EU,Large\n".encode(),
     "line 3: kind 'shoeSize'"),
    (f"kind,code,scheme,display_name\nclassCode,X1,{LOINC},One\nclassCode,X2,{LOINC}\n".encode(),
     "line 3: 3 columns"),
    (f"kind,code,scheme,display_name\nclassCode,X1,{LOINC},One\nclassCode,,{LOINC},Two\n".encode(),
     "line 3: code is empty"),
    (f"code,kind,scheme,display_name\nclassCode,X1,{LOINC},One\n".encode(), "line 1: the header row"),
    (f"kind,code,scheme,display_name\nclassCode,X1,{LOINC},Caf\xe9\n".encode("latin-1"), "not UTF-8"),
    (b"kind,code,scheme,display_name\n" + b"x" * MAX_BYTES, "at most 5,242,880"),
])
def test_a_bad_file_imports_nothing_and_says_why(client: Client, content: bytes, why: str) -> None:
    before = CodeValue.objects.count()
    operator = signed_in(client, OPERATOR)

    page = upload(operator, content).content.decode()

    assert "Nothing was imported" in page and why.replace("'", "&#x27;") in page
    assert CodeValue.objects.count() == before and not CodeValue.objects.filter(code="X1").exists()
    assert not imports_audited()


def test_the_operator_exports_the_selected_codes_as_csv(client: Client) -> None:
    value = CodeValue.objects.create(kind="eventCodeList", code="CT", scheme="DCM-test",
                                     display_name="Computed Tomography, test")
    operator = signed_in(client, OPERATOR)

    response = operator.post(CODES, {"action": "export_csv", "_selected_action": [str(value.pk)],
                                     "index": "0"})

    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == [
        "kind,code,scheme,display_name", 'eventCodeList,CT,DCM-test,"Computed Tomography, test"']


def test_a_data_steward_reads_the_value_sets_but_cannot_import(client: Client) -> None:
    steward = signed_in(client, DATA_STEWARD)

    assert steward.get(CODES).status_code == 200
    assert "Import from CSV" not in steward.get(CODES).content.decode()
    assert steward.get(IMPORT).status_code == 403
    assert upload(steward, b"kind,code,scheme,display_name\nclassCode,X1,1.2,One\n").status_code == 403
    assert not CodeValue.objects.filter(code="X1").exists()


def test_an_auditor_sees_no_value_set(client: Client) -> None:
    auditor = signed_in(client, AUDITOR)

    assert auditor.get(CODES).status_code == 403
    assert auditor.get(IMPORT).status_code in (302, 403)


def test_the_value_sets_list_takes_as_many_queries_for_thirty_codes_as_for_three(client: Client) -> None:
    operator = signed_in(client, OPERATOR)
    serial = iter(range(1_000))

    def add_rows(count: int) -> None:
        CodeValue.objects.bulk_create([CodeValue(kind="classCode", code=f"Q{next(serial)}", scheme="1.2.3",
                                                 display_name="a code") for _ in range(count)])

    assert_no_query_per_row(operator, CODES, add_rows)
