"""Which organisations may update and remove documents (ITI-57, ITI-62, ITI-86): the operator grants
it on the organisation's page; the SOAP edge tells the handlers whose request it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from organisations.models import Organisation
from organisations.selectors import may_administer_documents
from organisations.services import organisation_create
from soap.views import read_request

pytestmark = pytest.mark.django_db
ENVELOPE = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Header>'
            b"<wsa:Action>urn:ihe:iti:2010:DeleteDocumentSet</wsa:Action>"
            b"<wsa:MessageID>urn:uuid:6d2e7e1c-7c1e-4f57-9bbf-0d6f2b1b3a01</wsa:MessageID></s:Header>"
            b"<s:Body><x xmlns='urn:example'/></s:Body></s:Envelope>")


def test_a_new_organisation_may_not_administer_documents() -> None:
    organisation_create(code="hospb", name="Hospital B")
    assert Organisation.objects.get(code="hospb").may_administer_documents is False
    assert may_administer_documents("hospb") is False


def test_an_organisation_the_operators_granted_it_may_administer_documents() -> None:
    Organisation.objects.create(code="hieops", name="HIE operations", may_administer_documents=True)
    assert may_administer_documents("hieops") is True


def test_an_inactive_or_unknown_organisation_may_not() -> None:
    Organisation.objects.create(code="hieops", name="HIE operations", may_administer_documents=True,
                                active=False)
    assert may_administer_documents("hieops") is False
    assert may_administer_documents("nobody") is False


def test_a_request_with_no_organisation_is_the_operator_s_own_local_port() -> None:
    assert may_administer_documents("") is True


def test_the_field_is_named_for_the_transactions_it_allows() -> None:
    field = Organisation._meta.get_field("may_administer_documents")
    assert field.verbose_name == "may update and remove documents (ITI-57, ITI-62, ITI-86)"


def test_the_operator_sees_and_ticks_the_permission_in_the_admin(client: Client) -> None:
    client.force_login(User.objects.create_superuser("operator", password="a long demo password"))
    hospital_b = organisation_create(code="hospb", name="Hospital B")
    listing = client.get("/admin/organisations/organisation/")
    assert b"may update and remove documents" in listing.content
    page = client.get(f"/admin/organisations/organisation/{hospital_b.pk}/change/")
    assert b'name="may_administer_documents"' in page.content


@pytest.mark.parametrize(("organisation_code", "expected"), [("hospa", "hospa"), (None, "")])
def test_the_soap_request_carries_the_organisation_of_the_client_certificate(
        rf: RequestFactory, tmp_path: Path, organisation_code: str | None, expected: str) -> None:
    request = rf.post("/xds/registry", data=ENVELOPE, content_type="application/soap+xml")
    if organisation_code is not None:
        request.organisation_code = organisation_code  # type: ignore[attr-defined]
    assert read_request(request, endpoint="registry", folder=tmp_path).organisation_code == expected
