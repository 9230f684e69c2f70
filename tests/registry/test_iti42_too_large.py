"""ITI-42 from a runaway source: a submission of 10,000 documents is refused whole, before it is
validated, with XDSRegistryOutOfResources (ITI TF-3 Table 4.2.4.1-2), audited, nothing stored."""

from __future__ import annotations

import functools
import re
import uuid
from pathlib import Path

import pytest
from django.test import override_settings
from lxml import etree

from audit.models import AuditEvent
from registry import errors, models, services
from registry.ebrim.namespaces import RS
from registry.ebrim.read import read_submission
from registry.errors import RegistryErrors
from registry.handlers.iti42 import register_document_set
from soap.envelope import Addressing
from soap.messages import SoapRequest
from tests.registry.submissions import CHIP_MOORE, FIXTURES, fresh_oid, kos_submission

pytestmark = pytest.mark.django_db
RS_XSD = Path(__file__).resolve().parents[3] / "shared" / "ihe" / "wsdl" / "schema" / "ebRS30" / "rs.xsd"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
ENTRY, ASSOCIATION = re.compile(r"\s*<rim:ExtrinsicObject.*?</rim:ExtrinsicObject>", re.S), re.compile(
    r"\s*<rim:Association.*?</rim:Association>", re.S)


@pytest.fixture(autouse=True)
def chip_moore(db: None) -> None:
    services.patient_identity_register(patient_id=CHIP_MOORE)


@functools.cache
def rs_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(RS_XSD)))


def many_documents(count: int) -> bytes:
    """Hospital A's KOS submission with its one document and HasMember repeated `count` times,
    each with its own ids and uniqueId: built as text, so 10,000 take a moment."""
    text = (FIXTURES / "kos_submission.xml").read_text()
    entry, membership = ENTRY.search(text), ASSOCIATION.search(text)
    assert entry is not None and membership is not None
    # Every symbolic id gets the document's number; '{n}' marks where it goes.
    numbered = functools.partial(re.sub, r'(id|Object|registryObject)="((?:Document|cl|ei|as)\d+)"',
                                 r'\1="\2-{n}"')
    document = numbered(entry.group(0)).replace("1.3.6.1.4.1.21367.13.20.1000.2.1", "{uid}")
    association = numbered(membership.group(0)).replace('sourceObject="SubmissionSet01-{n}"',
                                                        'sourceObject="SubmissionSet01"')
    root = fresh_oid()
    body = "".join(document.format(n=n, uid=f"{root}.{n}") + association.format(n=n) for n in range(count))
    rest = ASSOCIATION.sub("", ENTRY.sub("", text, count=1), count=1)
    rest = rest.replace("1.3.6.1.4.1.21367.13.20.1000.3.1", fresh_oid())
    return rest.replace("</rim:RegistryObjectList>", body + "</rim:RegistryObjectList>").encode()


def posted(body: bytes) -> tuple[str, list[tuple[str, str]]]:
    """Hospital A's repository sends it through the ITI-42 handler; the answer is schema-valid."""
    response = register_document_set(SoapRequest(
        endpoint="registry", addressing=Addressing(
            action="urn:ihe:iti:2007:RegisterDocumentSet-b", message_id=f"urn:uuid:{uuid.uuid4()}",
            reply_to="http://hospa.example/repository", to="http://node/xds/registry"),
        body=etree.fromstring(body, parser=etree.XMLParser(huge_tree=True)), attachments={},
        folder=Path("/nonexistent"), remote_addr="127.0.0.1", mtom=False))
    rs_schema().assertValid(response.body)
    return response.body.get("status", ""), [(e.get("errorCode", ""), e.get("location", ""))
                                             for e in response.body.iter(f"{{{RS}}}RegistryError")]


def nothing_stored() -> bool:
    return not any(model.objects.exists() for model in (
        models.SubmissionSet, models.DocumentEntry, models.Folder, models.Association, models.ObjectCode))


def test_the_submission_template_makes_valid_submissions() -> None:
    assert posted(many_documents(3)) == (SUCCESS, [])
    assert models.DocumentEntry.objects.count() == 3


def test_a_ten_thousand_document_submission_is_refused_as_out_of_resources() -> None:
    status, problems = posted(many_documents(10_000))
    assert (status, problems) == (FAILURE, [(errors.OUT_OF_RESOURCES, "SubmissionSet SubmissionSet01")])
    assert nothing_stored()
    refusal = AuditEvent.objects.get(transaction="ITI-42")
    assert (refusal.outcome, refusal.patient_ids) == (8, CHIP_MOORE)


def test_the_size_is_checked_before_any_other_rule() -> None:
    # Every document lacks its typeCode, and still only the size is answered.
    body = many_documents(10_000).replace(b"urn:uuid:f0306f51-975f-434e-a61c-c59651d33983", b"urn:x")
    assert posted(body)[1] == [(errors.OUT_OF_RESOURCES, "SubmissionSet SubmissionSet01")]


@override_settings(REGISTRY_MAX_SUBMISSION_OBJECTS=3)
def test_the_limit_counts_every_registry_object_and_is_configured() -> None:
    # The submission set, the document and its HasMember: three objects, at the limit.
    at_the_limit = read_submission(kos_submission())
    assert services.submission_register(submission=at_the_limit, source="hospital A") == []
    with pytest.raises(RegistryErrors) as refused:
        services.submission_register(submission=read_submission(etree.fromstring(many_documents(2))),
                                     source="hospital A")
    assert [e.code for e in refused.value.errors] == [errors.OUT_OF_RESOURCES]


@override_settings(REGISTRY_MAX_SUBMISSION_OBJECTS=1)
def test_an_update_too_large_is_refused_the_same_way() -> None:
    with pytest.raises(RegistryErrors) as refused:
        services.submission_update(submission=read_submission(kos_submission()), source="the operator")
    assert [(e.code, e.location) for e in refused.value.errors] == [
        (errors.OUT_OF_RESOURCES, "SubmissionSet SubmissionSet01")]
