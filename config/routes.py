"""The one table of every inbound message the node answers, and the handler that answers it.

Adding a transaction is one line here plus one handler. Handlers are named by dotted path so
that this table imports nothing and can be read on one screen.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SoapEndpoint:
    """An HTTP path that speaks SOAP 1.2, with the WSDL `?wsdl` serves."""

    name: str
    path: str
    wsdl: str  # file path relative to the project root


@dataclass(frozen=True)
class SoapRoute:
    endpoint: str
    action: str  # wsa:Action of the request
    transaction: str  # the IHE transaction, as the audit trail names it
    handler: str


@dataclass(frozen=True)
class HL7v2Route:
    message_type: str  # MSH-9.1
    trigger_event: str  # MSH-9.2
    transaction: str
    handler: str


@dataclass(frozen=True)
class DicomRoute:
    event: str  # the pynetdicom event name
    transaction: str
    handler: str


SOAP_ENDPOINTS = [
    SoapEndpoint("registry", "xds/registry", "registry/wsdl/DocumentRegistry.wsdl"),
    SoapEndpoint("repository", "xds/repository", "repository/wsdl/DocumentRepository.wsdl"),
    SoapEndpoint("imaging", "xds/imaging", "imaging/wsdl/ImagingDocumentSource.wsdl"),
    SoapEndpoint("diagnostics", "soap/echo", "ops/wsdl/Diagnostics.wsdl"),
    SoapEndpoint("pixv3", "pix/v3", "empi/wsdl/PIXManager.wsdl"),
    SoapEndpoint("pdqv3", "pdq/v3", "empi/wsdl/PDQSupplier.wsdl"),
]

SOAP_ROUTES = [
    # XDS.b Document Registry (ITI TF-2a 3.18, ITI TF-2b 3.42).
    SoapRoute("registry", "urn:ihe:iti:2007:RegisterDocumentSet-b", "ITI-42",
              "registry.handlers.iti42.register_document_set"),
    SoapRoute("registry", "urn:ihe:iti:2007:RegistryStoredQuery", "ITI-18",
              "registry.handlers.iti18.registry_stored_query"),
    # Metadata Update option (ITI TF-2b 3.57, 3.62).
    SoapRoute("registry", "urn:ihe:iti:2010:UpdateDocumentSet", "ITI-57",
              "registry.handlers.iti57.update_document_set"),
    SoapRoute("registry", "urn:ihe:iti:2010:DeleteDocumentSet", "ITI-62",
              "registry.handlers.iti62.delete_document_set"),
    # XDS.b Document Repository (ITI TF-2b 3.41, 3.43, 3.86); RAD-68 (RAD TF-3 4.68) shares
    # ITI-41's action: a KOS manifest among the documents makes the submission a RAD-68.
    SoapRoute("repository", "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", "ITI-41",
              "repository.handlers.iti41.provide_and_register_document_set"),
    SoapRoute("repository", "urn:ihe:iti:2007:RetrieveDocumentSet", "ITI-43",
              "repository.handlers.iti43.retrieve_document_set"),
    SoapRoute("repository", "urn:ihe:iti:2017:RemoveDocuments", "ITI-86",
              "repository.handlers.iti86.remove_documents"),
    # XDS-I.b Imaging Document Source (RAD TF-3 4.69).
    SoapRoute("imaging", "urn:ihe:rad:2009:RetrieveImagingDocumentSet", "RAD-69",
              "imaging.handlers.rad69.retrieve_imaging_document_set"),
    # PIXv3 Manager: ITI-44 Patient Identity Feed HL7 v3 (ITI TF-2b 3.44), ITI-45 PIXV3 Query (3.45).
    SoapRoute("pixv3", "urn:hl7-org:v3:PRPA_IN201301UV02", "ITI-44",
              "empi.handlers.v3.iti44.patient_registry_record_added"),
    SoapRoute("pixv3", "urn:hl7-org:v3:PRPA_IN201302UV02", "ITI-44",
              "empi.handlers.v3.iti44.patient_registry_record_revised"),
    SoapRoute("pixv3", "urn:hl7-org:v3:PRPA_IN201304UV02", "ITI-44",
              "empi.handlers.v3.iti44.patient_registry_duplicates_resolved"),
    SoapRoute("pixv3", "urn:hl7-org:v3:PRPA_IN201309UV02", "ITI-45", "empi.handlers.v3.iti45.pix_query"),
    # PDQv3 Supplier: ITI-47 Patient Demographics Query HL7 v3 (ITI TF-2b 3.47), with the
    # Continuation Option's continue and cancel (3.47.4.3).
    SoapRoute("pdqv3", "urn:hl7-org:v3:PRPA_IN201305UV02", "ITI-47",
              "empi.handlers.v3.iti47.patient_demographics_query"),
    SoapRoute("pdqv3", "urn:hl7-org:v3:QUQI_IN000003UV01_Continue", "ITI-47",
              "empi.handlers.v3.iti47_continuation.query_continue"),
    SoapRoute("pdqv3", "urn:hl7-org:v3:QUQI_IN000003UV01_Cancel", "ITI-47",
              "empi.handlers.v3.iti47_continuation.query_cancel"),
    # Diagnostics: answers only when SOAP_ECHO_ENABLED is set (benchmarks, integration tests).
    SoapRoute("diagnostics", "urn:hienode:diagnostics:Echo", "Echo", "ops.handlers.echo"),
]

HL7V2_ROUTES: list[HL7v2Route] = [
    # ITI-8 Patient Identity Feed (ITI TF-2a 3.8): admit, register, pre-admit, update, merge.
    HL7v2Route("ADT", "A01", "ITI-8", "empi.handlers.v2.iti8.patient_identity_feed"),
    HL7v2Route("ADT", "A04", "ITI-8", "empi.handlers.v2.iti8.patient_identity_feed"),
    HL7v2Route("ADT", "A05", "ITI-8", "empi.handlers.v2.iti8.patient_identity_feed"),
    HL7v2Route("ADT", "A08", "ITI-8", "empi.handlers.v2.iti8.patient_identity_feed"),
    HL7v2Route("ADT", "A40", "ITI-8", "empi.handlers.v2.iti8.patient_merge"),
    # ITI-9 PIX Query (ITI TF-2a 3.9).
    HL7v2Route("QBP", "Q23", "ITI-9", "empi.handlers.v2.iti9.pix_query"),
    # ITI-21 Patient Demographics Query (ITI TF-2a 3.21).
    HL7v2Route("QBP", "Q22", "ITI-21", "empi.handlers.v2.iti21.patient_demographics_query"),
    # RAD-4 Procedure Scheduled (RAD TF-2 4.4): an order prefetches the patient's outside priors.
    HL7v2Route("ORM", "O01", "RAD-4", "imaging.handlers.orders.order"),
    HL7v2Route("OMI", "O23", "RAD-4", "imaging.handlers.orders.order"),
]

DICOM_ROUTES = [
    # PS3.7 9.1.5 C-ECHO; PS3.4 B Storage Service Class.
    DicomRoute("EVT_C_ECHO", "C-ECHO", "imaging.dicom.handlers.c_echo"),
    DicomRoute("EVT_C_STORE", "C-STORE", "imaging.dicom.handlers.c_store"),
]


@dataclass(frozen=True)
class FhirRoute:
    """One RESTful interaction of the FHIR R4 facade (FHIR R4 3.1.0 http.html).

    `interaction` is FHIR's name for it (search-type, read, update, delete, transaction,
    operation); `params` the search or operation parameters it takes, as `name:type`; `scope`
    the OAuth2 scope a client needs. /fhir/metadata and the OpenAPI description are written
    from these lines, so they say exactly what is served.
    """

    resource: str  # the resource type, "" for the system level (a transaction Bundle)
    interaction: str
    transaction: str
    handler: str
    scope: str
    params: tuple[str, ...] = ()
    operation: str = ""  # "$ihe-pix" for an operation


_DOCUMENT_REFERENCE_SEARCH = (
    "patient:reference", "patient.identifier:token", "status:token", "date:date", "period:date",
    "type:token", "category:token", "setting:token", "facility:token", "event:token",
    "security-label:token", "format:token", "author.given:string", "author.family:string",
    "related:reference", "identifier:token", "_id:token")

FHIR_ROUTES = [
    # MHD Document Recipient: ITI-65 Provide Document Bundle (MHD 4.2 ITI TF-2 3.65).
    FhirRoute("", "transaction", "ITI-65", "fhir_api.mhd.iti65.provide_document_bundle",
              "system/DocumentReference.write"),
    # MHD Document Responder: ITI-67, ITI-66, ITI-68 (MHD 4.2 ITI TF-2 3.66-3.68).
    FhirRoute("DocumentReference", "search-type", "ITI-67",
              "fhir_api.mhd.iti67.find_document_references", "system/DocumentReference.read",
              _DOCUMENT_REFERENCE_SEARCH),
    FhirRoute("DocumentReference", "read", "ITI-67", "fhir_api.mhd.iti67.read_document_reference",
              "system/DocumentReference.read"),
    FhirRoute("List", "search-type", "ITI-66", "fhir_api.mhd.iti66.find_document_lists",
              "system/List.read",
              ("patient:reference", "patient.identifier:token", "code:token", "date:date",
               "designationType:token", "source.given:string", "source.family:string",
               "sourceId:token", "status:token", "identifier:token", "_id:token")),
    FhirRoute("List", "read", "ITI-66", "fhir_api.mhd.iti66.read_document_list", "system/List.read"),
    FhirRoute("Binary", "read", "ITI-68", "fhir_api.mhd.iti68.retrieve_document", "system/Binary.read"),
    # PIXm Manager: ITI-83 (PIXm 3.0 ITI TF-2 3.83), ITI-104 Patient Identity Feed FHIR (3.104).
    FhirRoute("Patient", "operation", "ITI-83", "fhir_api.patients.iti83.ihe_pix", "system/Patient.read",
              ("sourceIdentifier:token", "targetSystem:uri", "_format:string"), operation="$ihe-pix"),
    FhirRoute("Patient", "update", "ITI-104", "fhir_api.patients.iti104.patient_feed_update",
              "system/Patient.write", ("identifier:token",)),
    FhirRoute("Patient", "delete", "ITI-104", "fhir_api.patients.iti104.patient_feed_delete",
              "system/Patient.write", ("identifier:token",)),
    # PDQm Supplier: ITI-78 Mobile Patient Demographics Query (PDQm 3.0 ITI TF-2 3.78).
    FhirRoute("Patient", "search-type", "ITI-78", "fhir_api.patients.iti78.find_patients",
              "system/Patient.read",
              ("_id:token", "active:token", "family:string", "given:string", "identifier:token",
               "telecom:token", "birthdate:date", "address:string", "address-city:string",
               "address-country:string", "address-postalcode:string", "address-state:string",
               "gender:token", "mothersMaidenName:string")),
    FhirRoute("Patient", "read", "ITI-78", "fhir_api.patients.iti78.read_patient", "system/Patient.read"),
    # XDS-I.b manifests as ImagingStudy (RAD TF-3 4.68's KOS, seen through FHIR R4 ImagingStudy):
    # no IHE transaction, audited as a plain RESTful interaction (BALP).
    FhirRoute("ImagingStudy", "search-type", "", "fhir_api.imaging.find_imaging_studies",
              "system/ImagingStudy.read",
              ("patient:reference", "patient.identifier:token", "started:date", "identifier:token",
               "modality:token", "_id:token")),
    FhirRoute("ImagingStudy", "read", "", "fhir_api.imaging.read_imaging_study",
              "system/ImagingStudy.read"),
    # RESTful ATNA: ITI-81 Retrieve ATNA Audit Event (ITI TF-2 3.81).
    FhirRoute("AuditEvent", "search-type", "ITI-81", "fhir_api.audit_events.find_audit_events",
              "system/AuditEvent.read",
              ("date:date", "patient.identifier:token", "entity:reference", "entity-id:token",
               "outcome:token", "type:token", "subtype:token", "source:token", "address:string",
               "agent:reference", "altid:token", "_id:token")),
    FhirRoute("AuditEvent", "read", "ITI-81", "fhir_api.audit_events.read_audit_event",
              "system/AuditEvent.read"),
]
