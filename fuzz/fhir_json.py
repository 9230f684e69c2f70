"""FHIR JSON: a request body as the facade reads it (fhir_api.wire.body.parse_json) and an ITI-65
Provide Document Bundle as MHD reads it (fhir_api.mhd.iti65: the Bundle's entries, each resource
checked against FHIR R4, mapped onto the SubmitObjectsRequest of ITI-41 by
fhir_api.mhd.to_ebrim, completed by the repository, read back by the registry's reader and checked
by the registry's rules that need no stored content).

Inputs are random JSON values, random bytes, and the tests' Bundles (tests/fhir/bundles.py)
mutated as trees (values replaced by other JSON, keys dropped, entries repeated) and as text.

One seam is replaced: `Patient/1` is the one Patient this fuzzer's server knows, instead of an
EMPI read from the database; the fuzzer is about reading, and the lookup reads no wire.

Property: a result, or FhirError (an OperationOutcome: 400, 413, 422) or RegistryErrors (the 422
of a refused submission); never another exception.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
from typing import Any
from unittest import mock

from hypothesis import strategies as st

from fhir_api.errors import FhirError
from fhir_api.mhd import iti65
from fhir_api.mhd.to_ebrim import builder, submission_build
from fhir_api.wire.body import parse_json
from fuzz.ebrim import _xml_text
from fuzz.mutate import huge, junk, mutated
from registry.ebrim.read import NotASubmission, read_submission
from registry.errors import RegistryErrors
from registry.validation import objects
from registry.validation import submission as whole
from repository.handlers.wire import metadata_complete
from repository.services import Content

BASE = "http://127.0.0.1:8080/fhir"
ENTERPRISE_ID = "E1001^^^&1.3.6.1.4.1.21367.2005.3.7&ISO"


def _known_patient(reference: str) -> list[str]:
    return [ENTERPRISE_ID] if reference == "Patient/1" else []

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.text(max_size=20).map(_xml_text),
                     st.sampled_from(["", "urn:oid:1.2.3", "urn:uuid:x", "Patient/1", "Patient/2", "Binary",
                                      "2026-11-23T10:00:00Z", "2026-13-45", "aGVsbG8=", "not base64!",
                                      "current", "superseded", "POST", "PUT", "transaction", "batch",
                                      "List", "DocumentReference", "submissionset", "folder",
                                      "Bundle", "text/plain", "application/dicom"]))
_json = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=20)


def _bundles() -> list[dict[str, Any]]:
    from tests.fhir.bundles import mhd_bundle

    return [mhd_bundle(patient_id="1", unique_id="1.3.6.1.4.1.21367.13.20.1000.9.1", mrn="A123",
                       content=b"outside prior report"),
            mhd_bundle(patient_id="1", unique_id="1.3.6.1.4.1.21367.13.20.1000.9.2", mrn="A123",
                       content=b"\x00" * 300, content_type="application/dicom",
                       format_code=("1.2.840.10008.2.6.1", "1.2.840.10008.5.1.4.1.1.88.59"),
                       study_uid="1.2.3.4.5")]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def tree_mutated(draw: st.DrawFn, seed: dict[str, Any]) -> Any:
    document: Any = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 5))):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        edit = draw(st.sampled_from(("replace", "drop", "repeat", "huge")))
        if edit == "replace":
            parent[last] = draw(_json)
        elif edit == "drop":
            del parent[last]
        elif edit == "repeat" and isinstance(parent, list):
            parent.extend([parent[last]] * draw(st.integers(1, 20)))
        elif edit == "huge":
            parent[last] = draw(huge(b"Q")).decode()
    return document


def strategy() -> st.SearchStrategy[bytes]:
    bundles = st.sampled_from(_bundles())
    return st.one_of(
        _json.map(lambda value: json.dumps(value).encode()),
        junk(200),
        bundles.flatmap(tree_mutated).map(lambda value: json.dumps(value).encode()),
        bundles.map(lambda value: json.dumps(value).encode()).flatmap(mutated),
        st.integers(1, 100).map(lambda depth: b"[" * depth + b"]" * depth),
    )


def check(data: bytes) -> None:
    # The protocol's own refusals; anything else propagates as a crash.
    with contextlib.suppress(FhirError, RegistryErrors):
        read(data)


def read(data: bytes) -> object:
    """What the facade reads of one ITI-65 body, up to the database."""
    body = parse_json(data)
    entries = iti65._entries(body)
    with mock.patch.object(builder, "enterprise_ids_of_reference", _known_patient):
        provided = submission_build(entries=entries, base=BASE, now="20261123100000")
    contents = {entry_uuid: Content(open=functools.partial(io.BytesIO, content), size=len(content),
                                    sha1=hashlib.sha1(content, usedforsecurity=False).hexdigest())
                for entry_uuid, content in provided.documents.items()}
    metadata_complete(provided.submit, contents)
    try:
        submission = read_submission(provided.submit)
    except NotASubmission as exc:
        raise AssertionError(f"the builder wrote no SubmitObjectsRequest: {exc}") from None
    found = [*whole.check_size(submission), *whole.check_shape(submission)]
    found += [e for d in submission.documents for e in objects.check_document_entry(d)]
    found += [e for s in submission.submission_sets for e in objects.check_submission_set(s)]
    found += whole.check_one_patient(submission) + whole.check_membership(submission)
    return found
