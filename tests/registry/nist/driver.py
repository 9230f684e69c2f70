"""A driver for the NIST XDS Toolkit's test plans, against the node's registry and repository over SOAP 1.2.

It does what the toolkit's test client does with a `testplan.xml`: for each TestStep of a
section, in order,

  RegisterTransaction       ITI-42: load the metadata file (ebRIM 2.1 converted to 3.0), put in the
                            patient ID and the ids earlier steps were given (UseId, UseReport),
                            give every uniqueId a fresh OID (but NoAssignUids), give symbolic ids a
                            urn:uuid (AssignUuids), POST it, check ExpectedStatus and the expected
                            error codes; the Reports of the step are read from the metadata sent
  StoredQueryTransaction    ITI-18: the query file with its symbols filled in; ExpectedContents;
                            the Reports of the step are read from the answer
  ProvideAndRegister...,    ITI-41 and ITI-43 on the repository: see repository_steps.py
  RetrieveTransaction
  NullTransaction           the XPath Assertions, on the previous step's response
  NewPatientId,             a fresh patient ID, made known to the registry (the Patient Identity
  PatientIdentityFeed...    Feed the toolkit sends)

The patient IDs of the toolkit's orchestration (test 15817 "pif": `$patientid$`, test 15817b:
`$altpatientid$`) are fresh IDs registered with `registry.services.patient_identity_register`; a
step with `AltPatientId` (the patient the registry must not know) gets one that is not registered.
Every response is validated against ebRS 3.0 (rs.xsd; query.xsd for AdhocQueryResponse) and every
request against lcm.xsd / query.xsd, so the conversion cannot hide a malformed message.

The published files go as they are, sourceId `129.6.58.92.1.1` included (see
registry/validation/formats.py, `is_source_id`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
from lxml import etree

from registry.ebrim.namespaces import FAILURE, QUERY, RIM, RS, SUCCESS
from tests.registry.nist.convert import to_ebrim30
from tests.soap.messages import SOAP12, WSA

IHE = Path(__file__).resolve().parents[4] / "shared" / "ihe"
TESTKIT = IHE / "nist-testkit" / "tests"
SCHEMAS = IHE / "wsdl" / "schema" / "ebRS30"
REGISTER = "urn:ihe:iti:2007:RegisterDocumentSet-b"
STORED_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
AFFINITY = "&1.3.6.1.4.1.21367.2005.3.7&ISO"
R = f"{{{RIM}}}"
# ITI TF-3 4.2.3: identification schemes of uniqueId and patientId, classification nodes.
UNIQUE_ID_SCHEMES = ("urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab",  # DocumentEntry
                     "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8",  # SubmissionSet
                     "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a")  # Folder
PATIENT_ID_SCHEMES = ("urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
                      "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
                      "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a")
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
FOLDER_NODE = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
XFRM_RPLC = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
_REFERENCES = ("id", "classifiedObject", "registryObject", "sourceObject", "targetObject")
_TOP_LEVEL = (R + "ExtrinsicObject", R + "RegistryPackage", R + "Association")
# The toolkit's orchestration tests that allocate the patient IDs the plans use.
_PATIENT_FEEDS = {"15817": "$patientid$", "15817b": "$altpatientid$", "15818": "$patientid$"}


class PlanError(AssertionError):
    """The registry did not answer as the test plan expects."""


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def sections(test_id: str) -> list[str]:
    """The sections of a test, in the order of its index.idx."""
    index = TESTKIT / test_id / "index.idx"
    return [line.strip() for line in index.read_text().splitlines() if line.strip()]


def plan(test_id: str, section: str) -> etree._Element:
    return etree.parse(str(TESTKIT / test_id / section / "testplan.xml")).getroot()


def new_patient_id() -> str:
    return f"NIST{random.randrange(10**9):09d}^^^{AFFINITY}"


def new_oid() -> str:
    return f"1.2.3.4.{random.randrange(10**12)}.{random.randrange(10**6)}"


@dataclass
class Response:
    """A step's answer: its status, errors, and the objects of a query."""

    root: etree._Element
    status: str
    errors: list[tuple[str, str]] = field(default_factory=list)  # (errorCode, codeContext)


@dataclass
class Run:
    """One NIST test, run section after section against the registry at `client`."""

    test_id: str
    client: httpx.Client
    register_patient: Callable[[str], None]
    patient: str = ""
    alt_patient: str = ""
    uuids: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (section, step) -> id
    uids: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    reports: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    last: etree._Element | None = None
    answers: dict[tuple[str, str], etree._Element] = field(default_factory=dict)  # of queries
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.patient, self.alt_patient = new_patient_id(), new_patient_id()
        self.register_patient(self.patient)
        self.register_patient(self.alt_patient)

    def run(self, section: str) -> None:
        for step in plan(self.test_id, section).iter("TestStep"):
            self._step(section, step)

    # The steps.

    def _step(self, section: str, step: etree._Element) -> None:
        name = step.get("id", "")
        where = f"{self.test_id}/{section}/{name}"
        expected = (step.findtext("ExpectedStatus") or "Success").strip()
        codes = [(e.text or "").strip() for e in step.iter("ExpectedErrorCode")]
        # The toolkit looks for an ExpectedErrorMessage anywhere in the errors' text.
        messages = [(e.text or "").strip() for e in step.iter("ExpectedErrorMessage")]
        if step.find("NewPatientId") is not None:
            self.patient = new_patient_id()
            self.register_patient(self.patient)
            return
        if step.find("PatientIdentityFeedTransaction") is not None:
            self.patient = new_patient_id()
            self.register_patient(self.patient)
            return
        patient = self.patient
        if step.find("AltPatientId") is not None:
            patient = new_patient_id()  # deliberately not fed to the registry
        if (transaction := step.find("RegisterTransaction")) is not None:
            answer = self._register(section, name, transaction, patient)
        elif (transaction := step.find("StoredQueryTransaction")) is not None:
            answer = self._query(section, name, transaction, patient)
        elif (transaction := step.find("ProvideAndRegisterTransaction")) is not None:
            from tests.registry.nist import repository_steps

            answer = repository_steps.provide(self, section, name, transaction, patient)
        elif (transaction := step.find("RetrieveTransaction")) is not None:
            from tests.registry.nist import repository_steps

            answer = repository_steps.retrieve(self, section, name, transaction, patient)
        elif (transaction := step.find("NullTransaction")) is not None:
            self._assertions(where, transaction)
            return
        else:
            kinds = [e.tag for e in step if isinstance(e.tag, str)]
            raise PlanError(f"{where}: the driver does not run a step of {kinds}")
        self.log.append(f"{where}: {answer.status.rsplit(':', 1)[-1]} {answer.errors}")
        wanted = SUCCESS if expected == "Success" else FAILURE
        if answer.status != wanted:
            raise PlanError(f"{where}: expected {expected}, got {answer.status} {answer.errors}")
        returned = {code for code, _ in answer.errors}
        for code in codes:
            if code not in returned:
                raise PlanError(f"{where}: expected error {code}, got {answer.errors}")
        for message in messages:
            if not any(message in f"{code} {context}" for code, context in answer.errors):
                raise PlanError(f"{where}: expected error message {message!r}, got {answer.errors}")
        if (contents := transaction.find("ExpectedContents")) is not None:
            self._contents(where, contents, answer.root)

    def _register(self, section: str, step: str, transaction: etree._Element, patient: str) -> Response:
        root = self.submission(section, step, transaction, patient)
        return self._post(REGISTER, root, RS + "}RegistryResponse", "rs.xsd")

    def submission(self, section: str, step: str, transaction: etree._Element,
                   patient: str) -> etree._Element:
        """The step's metadata file as it is sent: ebRIM 3.0, symbols, uniqueIds and patient filled in."""
        file = TESTKIT / self.test_id / section / (transaction.findtext("MetadataFile") or "").strip()
        text = self.substitute(file.read_text(), section, transaction, patient)
        root = to_ebrim30(etree.fromstring(text.encode()))
        objects = root.find(R + "RegistryObjectList")
        assert objects is not None, file
        keep = {e.get("id", "") for e in transaction.findall("NoAssignUids")}
        uids = self.uids.setdefault((section, step), {})
        for owner in objects:
            for identifier in owner.findall(R + "ExternalIdentifier"):
                scheme = identifier.get("identificationScheme")
                if scheme in UNIQUE_ID_SCHEMES:
                    if owner.get("id") not in keep:
                        identifier.set("value", new_oid())
                    uids[owner.get("id", "")] = identifier.get("value", "")
                elif scheme in PATIENT_ID_SCHEMES and transaction.find("NoPatientId") is None:
                    identifier.set("value", patient)
        if transaction.find("AssignUuids") is not None:
            self.uuids[(section, step)] = _assign_uuids(objects)
        self._report(section, step, transaction, root)
        schema("lcm.xsd").assertValid(root)
        return root

    def _query(self, section: str, step: str, transaction: etree._Element, patient: str) -> Response:
        file = TESTKIT / self.test_id / section / (transaction.findtext("MetadataFile") or "").strip()
        text = self.substitute(file.read_text(), section, transaction, patient)
        root = etree.fromstring(text.encode())
        schema("query.xsd").assertValid(root)
        answer = self._post(STORED_QUERY, root, QUERY + "}AdhocQueryResponse", "query.xsd")
        self.last = self.answers[(section, step)] = answer.root
        self._report(section, step, transaction, answer.root)
        return answer

    def _report(self, section: str, step: str, transaction: etree._Element, root: etree._Element) -> None:
        """The step's Reports: XPath over what was sent (Metadata) or answered (Result)."""
        reports = self.reports.setdefault((section, step), {})
        for report in transaction.findall("Report"):
            found = root.xpath((report.text or "").strip())
            items: list[object] = list(found) if isinstance(found, list) else [found]
            # An attribute or text is a string; an element reports its text (the toolkit's way).
            values = [v.text or "" if isinstance(v, etree._Element) else str(v) for v in items]
            if values:
                reports[report.get("name", "")] = values[0].strip()

    def _post(self, action: str, body: etree._Element, answer_tag: str, xsd: str) -> Response:
        envelope = (f'<s:Envelope xmlns:s="{SOAP12}" xmlns:wsa="{WSA}"><s:Header>'
                    f'<wsa:Action s:mustUnderstand="true">{action}</wsa:Action>'
                    f"<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>"
                    "<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address>"
                    "</wsa:ReplyTo><wsa:To>http://localhost/xds/registry</wsa:To></s:Header>"
                    f"<s:Body>{etree.tostring(body, encoding='unicode')}</s:Body></s:Envelope>")
        response = self.client.post("/xds/registry", content=envelope.encode(), headers={
            "Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'})
        if response.status_code != 200:
            raise PlanError(f"HTTP {response.status_code}: {response.text[:2000]}")
        envelope_root = etree.fromstring(response.content)
        if envelope_root.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}Action") != action + "Response":
            raise PlanError(f"wrong wsa:Action in {response.text[:500]}")
        answer = envelope_root.find(f"{{{SOAP12}}}Body/{{{answer_tag}")
        if answer is None:
            raise PlanError(f"no {answer_tag} in {response.text[:2000]}")
        schema(xsd).assertValid(answer)
        errors = [(e.get("errorCode", ""), e.get("codeContext", ""))
                  for e in answer.iter(f"{{{RS}}}RegistryError")]
        return Response(root=answer, status=answer.get("status", ""), errors=errors)

    # Symbols: $patientid$, UseId, UseReport.

    def substitute(self, text: str, section: str, transaction: etree._Element, patient: str) -> str:
        symbols = {"$patientid$": patient, "$altpatientid$": self.alt_patient}
        for use in transaction.findall("UseReport"):
            symbol = use.get("useAs", "")
            if use.get("test") in _PATIENT_FEEDS:
                symbols[symbol] = patient if _PATIENT_FEEDS[use.get("test", "")] == "$patientid$" \
                    else self.alt_patient
                continue
            key = (use.get("section") or section, use.get("step", ""))
            name = use.get("reportName", "")
            try:
                if name.endswith("_uid") and name not in self.reports.get(key, {}):
                    # The toolkit reports each uniqueId it assigned as <id>_uid.
                    symbols[symbol] = self.uids[key][name.removesuffix("_uid")]
                else:
                    symbols[symbol] = self.reports[key][name]
            except KeyError:
                raise PlanError(f"{self.test_id}/{section}: no report {use.get('reportName')} "
                                f"of {key}") from None
        for use in transaction.findall("UseId"):
            source = (use.get("testdir") or section).removeprefix("../")
            key = (source, use.get("step", ""))
            table = self.uuids if use.get("section") == "AssignedUuids" else self.uids
            try:
                symbols[use.get("symbol", "")] = table[key][use.get("id", "")]
            except KeyError:
                raise PlanError(f"{self.test_id}/{section}: no {use.get('section')} {use.get('id')} "
                                f"of {key}") from None
        for symbol, value in symbols.items():
            text = text.replace(symbol, escape(value, {'"': "&quot;"}))
        return text

    # Checks of a query's answer.

    def _contents(self, where: str, contents: etree._Element, answer: etree._Element) -> None:
        found = census(answer)
        for expectation in contents:
            if not isinstance(expectation.tag, str):
                continue
            name = expectation.tag
            if expectation.get("count") is not None:
                wanted = {name: int(expectation.get("count", "0"))}
            else:
                wanted = _SHAPES.get(name, {})
            for kind, count in wanted.items():
                if len(found[kind]) != count:
                    raise PlanError(f"{where}: {name}: expected {count} {kind}, got {len(found[kind])}")
            if name in _SHAPES:
                continue
            if name == "None":
                if any(found.values()):
                    raise PlanError(f"{where}: expected nothing, got {_counts(found)}")
            elif name in ("DocApp", "DocDep"):
                status = APPROVED if name == "DocApp" else DEPRECATED
                statuses = [d.get("status") for d in found["Documents"]]
                if not statuses or any(s != status for s in statuses):
                    raise PlanError(f"{where}: {name}: statuses {statuses}")
            elif name == "SSApproved":
                statuses = [p.get("status") for p in found["SubmissionSets"]]
                if not statuses or any(s != APPROVED for s in statuses):
                    raise PlanError(f"{where}: SSApproved: {statuses}")
            elif name == "HasXFRM_RPLC":
                if not any(a.get("associationType") == XFRM_RPLC for a in found["Associations"]):
                    raise PlanError(f"{where}: no XFRM_RPLC association among {_counts(found)}")
            elif expectation.get("count") is None:
                raise PlanError(f"{where}: the driver does not know ExpectedContents/{name}")

    def _assertions(self, where: str, transaction: etree._Element) -> None:
        if self.last is None:
            raise PlanError(f"{where}: an assertion with no response before it")
        for check in transaction.iter("Assert"):
            if not self.last.xpath(f"boolean({(check.text or '').strip()})"):
                raise PlanError(f"{where}: assertion {check.get('id')} is false")


# ExpectedContents elements that state counts (the toolkit's `ExpectedContents` evaluator).
_SHAPES: dict[str, dict[str, int]] = {
    "SSwithOneDoc": {"SubmissionSets": 1, "Documents": 1},
    "SSwithTwoDoc": {"SubmissionSets": 1, "Documents": 2},
    "SSwithOneFol": {"SubmissionSets": 1, "Folders": 1},
    "SSwithOneDocOneFol": {"SubmissionSets": 1, "Documents": 1, "Folders": 1},
}


def census(answer: etree._Element) -> dict[str, list[etree._Element]]:
    """The objects of an AdhocQueryResponse, by kind."""
    found: dict[str, list[etree._Element]] = {k: [] for k in (
        "SubmissionSets", "Folders", "Documents", "Associations", "ObjectRefs")}
    objects = answer.find(R + "RegistryObjectList")
    if objects is None:
        return found
    nodes = {c.get("classifiedObject"): c.get("classificationNode")
             for c in objects.iter(R + "Classification")}
    for element in objects:
        if element.tag == R + "ExtrinsicObject":
            found["Documents"].append(element)
        elif element.tag == R + "Association":
            found["Associations"].append(element)
        elif element.tag == R + "ObjectRef":
            found["ObjectRefs"].append(element)
        elif element.tag == R + "RegistryPackage":
            node = nodes.get(element.get("id"))
            if node == SUBMISSION_SET_NODE:
                found["SubmissionSets"].append(element)
            elif node == FOLDER_NODE:
                found["Folders"].append(element)
            else:
                raise PlanError(f"a RegistryPackage {element.get('id')} neither SubmissionSet nor Folder")
    return found


def _counts(found: dict[str, list[etree._Element]]) -> dict[str, int]:
    return {k: len(v) for k, v in found.items()}


def _assign_uuids(objects: etree._Element) -> dict[str, str]:
    """The toolkit's AssignUuids: each symbolic id of a top-level object becomes a urn:uuid."""
    fresh = {e.get("id", ""): f"urn:uuid:{uuid.uuid4()}" for e in objects
             if e.tag in _TOP_LEVEL and not e.get("id", "").startswith("urn:uuid:") and e.get("id")}
    for element in objects.iter(R + "*"):
        for name in _REFERENCES:
            if (value := element.get(name)) in fresh:
                element.set(name, fresh[value])
    return fresh


__all__ = ["PlanError", "Run", "census", "plan", "schema", "sections"]
