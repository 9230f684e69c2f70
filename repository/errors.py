"""The codes a repository answers with (ITI TF-3 Table 4.2.4.1-2), besides the registry's.

They travel as registry.errors.RegistryError: one rs:RegistryError each, code, context, location.
"""

MISSING_DOCUMENT = "XDSMissingDocument"  # metadata names a document the message lacks
MISSING_DOCUMENT_METADATA = "XDSMissingDocumentMetadata"  # a document no metadata names
DUPLICATE_UNIQUE_ID_IN_MESSAGE = "XDSRepositoryDuplicateUniqueIdInMessage"
METADATA_ERROR = "XDSRepositoryMetadataError"  # hash, size or content disagree with the metadata
OUT_OF_RESOURCES = "XDSRepositoryOutOfResources"  # the store is full
REPOSITORY_ERROR = "XDSRepositoryError"  # anything else that failed in the repository
UNKNOWN_REPOSITORY_ID = "XDSUnknownRepositoryId"  # ITI-43/86 name another repository
DOCUMENT_UNIQUE_ID_ERROR = "XDSDocumentUniqueIdError"  # ITI-43/86 name an unknown document
