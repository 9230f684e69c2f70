"""The FHIR R4 facade: MHD, PIXm, PDQm, ImagingStudy, AuditEvent."""
