"""The organisation's page and list in the console: certificate expiry in red and amber, the
organisation's DICOM nodes with a C-ECHO button answered inline, its PIX consumers."""

from __future__ import annotations

import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from empi.models import PixConsumer
from imaging.models import DicomNode
from organisations.models import ClientCertificate, Organisation
from organisations.roles import AUDITOR, DATA_STEWARD, OPERATOR
from organisations.services import organisation_create
from tests.console import assert_no_query_per_row, signed_in
from tests.servers.orthanc import OrthancServer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings: Any) -> None:
    """Users made here sign in with force_login: their password need not cost a real hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LIST = "/admin/organisations/organisation/"


def page_of(organisation: Organisation) -> str:
    return f"{LIST}{organisation.pk}/change/"


def a_certificate(organisation: Organisation, *, days_left: float, active: bool = True) -> None:
    n = ClientCertificate.objects.count() + 1
    now = timezone.now()
    ClientCertificate.objects.create(
        organisation=organisation, fingerprint_sha256=f"{n:064x}", subject=f"CN=system{n}",
        issuer="CN=HIE demo CA", serial=str(n), not_before=now - timedelta(days=400),
        not_after=now + timedelta(days=days_left), pem="-----BEGIN CERTIFICATE-----", active=active)


def a_node(organisation: Organisation, ae_title: str, port: int, **roles: bool) -> DicomNode:
    return DicomNode.objects.create(organisation=organisation, ae_title=ae_title, host="127.0.0.1",
                                    port=port, **roles)


def a_port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def operator(client: Client) -> Client:
    return signed_in(client, OPERATOR, username="operator")


@pytest.fixture
def hospital_a() -> Organisation:
    return organisation_create(code="hospa", name="Hospital A")


def test_an_expired_certificate_is_red_and_one_expiring_within_30_days_amber_on_the_list(
        operator: Client) -> None:
    expired, expiring, fine = (organisation_create(code=c, name=c) for c in ("hospa", "hospb", "hospc"))
    a_certificate(expired, days_left=-2)
    a_certificate(expiring, days_left=12.5)
    a_certificate(expiring, days_left=300)
    a_certificate(fine, days_left=300)
    a_certificate(fine, days_left=-30, active=False)  # out of use: no warning

    rows = {row.split("</th>")[0].rsplit(">", 2)[-2].split("<")[0]: row
            for row in operator.get(LIST).content.decode().split('<tr')[2:]}

    assert "var(--error-fg" in rows["hospa"] and "expired" in rows["hospa"]
    assert "#b36b00" in rows["hospb"] and "expires in 12 days" in rows["hospb"]
    assert "in 299 days" in rows["hospc"] and "expire" not in rows["hospc"]


def test_the_organisation_page_warns_of_an_expiring_certificate(
        operator: Client, hospital_a: Organisation) -> None:
    a_certificate(hospital_a, days_left=5.5)
    page = operator.get(page_of(hospital_a)).content.decode()
    assert '<strong style="color: #b36b00;">expires in 5 days</strong>' in page


def test_the_organisation_page_lists_its_dicom_nodes_and_pix_consumers_with_links(
        operator: Client, hospital_a: Organisation) -> None:
    pacs = a_node(hospital_a, "HOSPA_PACS", 104, is_source=True, is_destination=True)
    other = organisation_create(code="hospb", name="Hospital B")
    a_node(other, "HOSPB_PACS", 105)
    consumer = PixConsumer.objects.create(organisation=hospital_a, host="10.0.0.5", port=2575,
                                          receiving_application="HOSPA_ADT")

    page = operator.get(page_of(hospital_a)).content.decode()

    assert f'href="/admin/imaging/dicomnode/{pacs.pk}/change/">HOSPA_PACS</a>' in page
    assert "127.0.0.1:104" in page and "query/retrieve source, move destination" in page
    assert "HOSPB_PACS" not in page
    assert f'data-url="/admin/imaging/dicomnode/{pacs.pk}/echo/"' in page
    assert f'href="/admin/empi/pixconsumer/{consumer.pk}/change/">HOSPA_ADT at 10.0.0.5:2575</a>' in page
    assert "ITI-10" in page


def test_an_echo_of_a_node_nobody_listens_for_answers_no_association_in_json_and_is_audited(
        operator: Client, hospital_a: Organisation) -> None:
    node = a_node(hospital_a, "HOSPA_PACS", a_port_nobody_listens_on())

    response = operator.post(f"/admin/imaging/dicomnode/{node.pk}/echo/")

    answer = response.json()
    assert answer["level"] == "error" and "no association" in answer["answer"]
    alert = AuditEvent.objects.get(event_id="110113", organisation="hospa")
    assert alert.user_id == "operator"
    text = json.dumps(alert.record)
    assert "110128" in text and "no association" in text  # Network Configuration, with the answer


def test_an_echo_of_hospital_as_pacs_answers_success_inline(
        operator: Client, hospital_a: Organisation, orthanc: OrthancServer) -> None:
    node = a_node(hospital_a, orthanc.ae_title, orthanc.dicom_port)
    answer = operator.post(f"/admin/imaging/dicomnode/{node.pk}/echo/").json()
    assert answer["level"] == "success" and "answered C-ECHO: success" in answer["answer"]


def test_the_echo_endpoint_is_for_operators_and_answers_post_only(
        client: Client, operator: Client, hospital_a: Organisation) -> None:
    node = a_node(hospital_a, "HOSPA_PACS", 104)
    assert operator.get(f"/admin/imaging/dicomnode/{node.pk}/echo/").status_code == 405
    for role in (AUDITOR, DATA_STEWARD):
        other = signed_in(Client(), role)
        assert other.post(f"/admin/imaging/dicomnode/{node.pk}/echo/").status_code == 403
    assert not AuditEvent.objects.filter(event_id="110113").exists()


def test_save_and_test_with_c_echo_still_answers_on_the_node_page(
        operator: Client, hospital_a: Organisation) -> None:
    node = a_node(hospital_a, "HOSPA_PACS", a_port_nobody_listens_on())
    response = operator.post(f"/admin/imaging/dicomnode/{node.pk}/change/", {
        "organisation": hospital_a.pk, "ae_title": "HOSPA_PACS", "host": "127.0.0.1",
        "port": str(node.port), "retrieve_method": node.retrieve_method, "max_associations": "2",
        "is_source": "on", "active": "on", "description": "", "retrieve_location_uid": "",
        "_echo": "Save and test with C-ECHO"}, follow=True)
    assert "no association" in response.content.decode()


def test_the_organisation_list_and_page_take_as_many_queries_for_thirty_rows_as_for_three(
        operator: Client, hospital_a: Organisation) -> None:
    def organisations(n: int) -> None:
        for _ in range(n):
            k = Organisation.objects.count()
            a_certificate(organisation_create(code=f"site{k}", name=f"Site {k}"), days_left=10)

    def connections(n: int) -> None:
        for _ in range(n):
            k = DicomNode.objects.count()
            a_node(hospital_a, f"NODE{k}", 104 + k)
            PixConsumer.objects.create(organisation=hospital_a, host="10.0.0.5", port=2575 + k)
            a_certificate(hospital_a, days_left=100 + k)

    assert_no_query_per_row(operator, LIST, organisations)
    assert_no_query_per_row(operator, page_of(hospital_a), connections)


def test_the_pix_consumer_and_dicom_node_lists_take_as_many_queries_for_thirty_rows_as_for_three(
        operator: Client, hospital_a: Organisation) -> None:
    def consumers(n: int) -> None:
        for _ in range(n):
            PixConsumer.objects.create(organisation=hospital_a, host="10.0.0.5",
                                       port=2575 + PixConsumer.objects.count())

    def nodes(n: int) -> None:
        for _ in range(n):
            a_node(hospital_a, f"NODE{DicomNode.objects.count()}", 104)

    assert_no_query_per_row(operator, "/admin/empi/pixconsumer/", consumers)
    assert_no_query_per_row(operator, "/admin/imaging/dicomnode/", nodes)
