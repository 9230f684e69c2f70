"""ebRIM: the registry's reading of lcm:SubmitObjectsRequest (ITI-42, and ITI-41 behind the
repository) and query:AdhocQueryRequest (ITI-18), from the hardened XML parser on.

The path is the handlers' up to the database: soap.xml.parse_xml, the size check on the wire,
registry.ebrim.read.read_submission and the validation rules that need no stored content
(ITI TF-3 4.1, 4.2); or registry.ebrim.query.read_query and the stored query's parameter check
(ITI TF-2a 3.18.4.1.2.3.7). Inputs are the NIST testkit's and the tests' real messages, mutated as
trees (elements dropped, repeated, moved; attributes and text replaced) and as bytes.

Property: a parsed object, or the registry's own refusal: XmlRejected (a Sender fault),
NotASubmission (a Sender fault), SoapFault, RegistryErrors; never another exception.
"""

from __future__ import annotations

import contextlib

from hypothesis import strategies as st
from lxml import etree

from fuzz.mutate import huge, mutated
from fuzz.seeds import IHE, ROOT, files
from registry import queries
from registry.ebrim.query import read_query
from registry.ebrim.read import NotASubmission, read_submission
from registry.errors import RegistryErrors
from registry.handlers.submission import _check_size, _submission_set_on_the_wire
from registry.queries.params import check as check_params
from registry.validation import objects
from registry.validation import submission as whole
from soap.faults import SoapFault
from soap.xml import XmlRejected, parse_xml

FIXTURES = ROOT / "tests" / "registry" / "fixtures"


def _seeds() -> list[bytes]:
    found = files(FIXTURES, "*.xml", containing=b"SubmitObjectsRequest")
    testkit = IHE / "nist-testkit" / "tests"
    found += files(testkit, "*.xml", containing=b"AdhocQueryRequest", limit=30)
    for data in files(testkit, "*.xml", containing=b"SubmitObjectsRequest", limit=60):
        found.append(_as_ebrim30(data))
    return [seed for seed in found if seed]


def _as_ebrim30(data: bytes) -> bytes:
    # The testkit's ebRIM 2.1 files, converted as the NIST toolkit sends them.
    from tests.registry.nist.convert import is_ebrim21, to_ebrim30

    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return b""
    return etree.tostring(to_ebrim30(root) if is_ebrim21(root) else root)


_ATTRIBUTES = ["id", "lid", "objectType", "classificationScheme", "classificationNode",
               "classifiedObject", "identificationScheme", "registryObject", "value", "name",
               "nodeRepresentation", "associationType", "sourceObject", "targetObject", "status",
               "mimeType", "returnType", "home"]
_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "urn:uuid:", "urn:uuid:not-a-uuid", "Document01", "SubmissionSet01",
                     "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",  # SubmissionSet node
                     "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2",  # Folder node
                     "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember",
                     "urn:ihe:iti:2007:AssociationType:RPLC", "LeafClass", "ObjectRef",
                     "('a','b')", "'unterminated", "(,,)", "''''", "20261123", "99999999999999999999",
                     "E1001^^^&1.3.6.1.4.1.21367.2005.3.7&ISO", "^^^&&", "\x7f"]),
    huge(b"9").map(bytes.decode))


@st.composite
def tree_mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    root = etree.fromstring(seed, etree.XMLParser(resolve_entities=False, no_network=True))
    for _ in range(draw(st.integers(1, 8))):
        elements = list(root.iter(etree.Element))
        target = elements[draw(st.integers(0, len(elements) - 1))]
        edit = draw(st.sampled_from(("drop", "repeat", "move", "attribute", "text", "empty")))
        parent = target.getparent()
        if edit == "drop" and parent is not None:
            parent.remove(target)
        elif edit == "repeat" and parent is not None:
            for _ in range(draw(st.integers(1, 30))):
                parent.append(etree.fromstring(etree.tostring(target)))
        elif edit == "move" and parent is not None:
            other = elements[draw(st.integers(0, len(elements) - 1))]
            if target not in other.iterancestors() and other is not target:
                other.append(target)
        elif edit == "attribute":
            target.set(draw(st.sampled_from(_ATTRIBUTES)), _xml_text(draw(_VALUES)))
        elif edit == "text":
            target.text = _xml_text(draw(_VALUES))
        elif edit == "empty":
            target.clear()
    return etree.tostring(root)


def _xml_text(text: str) -> str:
    # lxml refuses what XML 1.0 cannot carry; the byte mutations send those as raw bytes instead.
    return "".join(c for c in text if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd")
                   or c >= "\U00010000")


def strategy() -> st.SearchStrategy[bytes]:
    seeds = _seeds()
    if not seeds:
        raise RuntimeError(f"no ebRIM messages found under {FIXTURES} or {IHE}")
    chosen = st.sampled_from(seeds)
    return st.one_of(chosen.flatmap(tree_mutated), chosen.flatmap(mutated),
                     chosen.flatmap(tree_mutated).flatmap(lambda data: mutated(data, max_edits=2)))


def check(data: bytes) -> None:
    # The protocol's own refusals; anything else propagates as a crash.
    with contextlib.suppress(XmlRejected, NotASubmission, SoapFault, RegistryErrors):
        read(data)


def read(data: bytes) -> object:
    """What the registry reads of one body, up to the database."""
    body = parse_xml(data)
    if etree.QName(body).localname == "AdhocQueryRequest":
        request = read_query(body)
        query = queries.QUERIES.get(request.query_id)
        queries.patient_id_of(request.query_id, request.slots)
        if query is not None:
            check_params(query.params, request.slots, exclusive=query.exclusive)
        return request
    _submission_set_on_the_wire(body)
    _check_size(body)
    submission = read_submission(body)
    found = [*whole.check_size(submission), *whole.check_shape(submission)]
    found += [e for s in submission.submission_sets for e in objects.check_submission_set(s)]
    found += [e for d in submission.documents for e in objects.check_document_entry(d)]
    found += [e for f in submission.folders for e in objects.check_folder(f)]
    found += [e for a in submission.associations for e in objects.check_association(a)]
    found += whole.check_one_patient(submission) + whole.check_unique_ids_in_message(submission)
    found += whole.check_membership(submission) + whole.check_relationship_sources(submission)
    whole.references_outside(submission)
    for package in submission.submission_sets:
        package.set_version(2)
    return found

