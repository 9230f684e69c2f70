"""FHIR wire to ebRIM: an MHD Provide Document Bundle's resources as the lcm:SubmitObjectsRequest an
ITI-41 carries (MHD 4.2 ITI TF-3 4.5.1 and 4.5.2, the XDS <-> FHIR tables read backwards).

Every object gets its final entryUUID here (the identifier's urn:uuid, or a fresh one), so that
the answer can name the resources before the registry reads the request; references between
entries are by fullUrl (MHD 4.2 ITI TF-2 3.65.4.1.2).
"""

from fhir_api.mhd.to_ebrim.builder import Provided, list_code, submission_build
from fhir_api.mhd.to_ebrim.datatypes import BundleEntry

__all__ = ["BundleEntry", "Provided", "list_code", "submission_build"]
