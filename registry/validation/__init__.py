"""Domain: metadata validation of a submission (ITI TF-3 4.1, 4.2; ITI TF-2b 3.42.4.1.3).

`objects` checks each object alone, `submission` the message as a whole, `stored` the message
against the registry's content. Every error is collected, so a source fixes them all at once.
"""

from __future__ import annotations

from registry import metadata
from registry.errors import RegistryError
from registry.validation import objects, stored
from registry.validation import submission as whole


def validate_submission(submission: metadata.Submission) -> list[RegistryError]:
    """Every error (and warning) of the submission; only the size error for one too large."""
    too_large = whole.check_size(submission)
    if too_large:
        return too_large
    found: list[RegistryError] = []
    found += whole.check_shape(submission)
    for package in submission.submission_sets:
        found += objects.check_submission_set(package)
    for document in submission.documents:
        found += objects.check_document_entry(document)
    for folder in submission.folders:
        found += objects.check_folder(folder)
    for association in submission.associations:
        found += objects.check_association(association)
    found += whole.check_one_patient(submission)
    found += whole.check_unique_ids_in_message(submission)
    found += whole.check_membership(submission)
    found += whole.check_relationship_sources(submission)
    found += stored.check_patient(submission)
    found += stored.check_codes(submission)
    found += stored.check_unique_ids(submission)
    found += stored.check_references(submission, whole.references_outside(submission))
    return found


__all__ = ["validate_submission"]
