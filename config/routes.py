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
