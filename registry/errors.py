"""Registry errors: each carries the standard's code (ITI TF-3 4.2.4 and ITI TF-2 3.18.4.1.3.x).

    RegistryError                       one rs:RegistryError: code, context, location, severity
     └── raised as RegistryErrors       the list a request failed with (all or nothing)

The codes are the standard's, never invented; `location` names the object and attribute
(e.g. "DocumentEntry urn:uuid:... classCode"), `context` says what is wrong for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

# ITI TF-3 Table 4.2.4.1-2, the codes a registry returns.
METADATA_ERROR = "XDSRegistryMetadataError"
UNKNOWN_PATIENT_ID = "XDSUnknownPatientId"
PATIENT_ID_DOES_NOT_MATCH = "XDSPatientIdDoesNotMatch"
DUPLICATE_UNIQUE_ID_IN_REGISTRY = "XDSDuplicateUniqueIdInRegistry"
DUPLICATE_UNIQUE_ID_IN_MESSAGE = "XDSRegistryDuplicateUniqueIdInMessage"
NON_IDENTICAL_HASH = "XDSNonIdenticalHash"
NON_IDENTICAL_SIZE = "XDSNonIdenticalSize"
DEPRECATED_DOCUMENT = "XDSRegistryDeprecatedDocumentError"
EXTRA_METADATA_NOT_SAVED = "XDSExtraMetadataNotSaved"
REGISTRY_ERROR = "XDSRegistryError"
REGISTRY_BUSY = "XDSRegistryBusy"
OUT_OF_RESOURCES = "XDSRegistryOutOfResources"
# ITI TF-2 3.18.4.1.3: stored query errors.
STORED_QUERY_PARAM_NUMBER = "XDSStoredQueryParamNumber"
STORED_QUERY_MISSING_PARAM = "XDSStoredQueryMissingParam"
UNKNOWN_STORED_QUERY = "XDSUnknownStoredQuery"
TOO_MANY_RESULTS = "XDSTooManyResults"
RESULT_NOT_SINGLE_PATIENT = "XDSResultNotSinglePatient"
UNKNOWN_COMMUNITY = "XDSUnknownCommunity"
MISSING_HOME_COMMUNITY_ID = "XDSMissingHomeCommunityId"
# ITI TF-2b 3.57.4.1.3.5 (ITI TF-3 Table 4.2.4.1-2): Metadata Update errors of ITI-57.
METADATA_UPDATE = "XDSMetadataUpdateError"  # the general one, when none below fits
METADATA_UPDATE_OPERATION = "XDSMetadataUpdateOperationError"  # an operation the registry refuses
METADATA_VERSION = "XDSMetadataVersionError"  # PreviousVersion is not the latest version
PATIENT_ID_RECONCILIATION = "XDSPatientIDReconciliationError"  # a patientId change not allowed
# ITI TF-2b 3.62.4.1.3: ITI-62 answers with the ebRS 3.0 exceptions' names.
UNRESOLVED_REFERENCE = "UnresolvedReferenceException"  # no such object
REFERENCES_EXIST = "ReferencesExistException"  # an object left behind still refers to a removed one
# ebRS 3.0: the requestor may not perform the operation (ITI-57, ITI-62 for a hospital that is no
# Document Administrator of the exchange).
AUTHORIZATION = "urn:oasis:names:tc:ebxml-regrep:ErrorType:AuthorizationException"


@dataclass(frozen=True)
class RegistryError:
    code: str
    context: str
    location: str = ""
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


@dataclass
class RegistryErrors(Exception):
    """A request refused: every error found, so the client fixes them all at once."""

    errors: list[RegistryError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__("; ".join(f"{e.code}: {e.context}" for e in self.errors))


def error(code: str, context: str, location: str = "") -> RegistryErrors:
    return RegistryErrors([RegistryError(code, context, location)])
