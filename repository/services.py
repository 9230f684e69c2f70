"""Domain: the repository's writes. Provide and Register (ITI-41, RAD-68) and Remove (ITI-86).

A submission is all or nothing (ITI TF-2b 3.41.4.1.3): the bytes are written to the store first,
then the registration, the Document rows, what inspectors index and the audit record commit in
one transaction. When that fails, the bytes written are removed at once; when the process dies
in between, the orphan cleanup (repository.tasks) removes them later. No reader ever sees a
Document row whose bytes are not complete, nor metadata whose document is missing.

A database error at the commit leaves its outcome unknown: the server may have committed and
the acknowledgement been lost with the connection. The bytes are then removed only once the
database says no row names them; if it cannot say, the orphan cleanup decides later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from audit import services as audit
from audit.events import Peer, patient_record, this_node
from registry import errors as registry_errors
from registry import services as registry
from registry.errors import RegistryError, RegistryErrors
from registry.metadata import DocumentEntry, Submission
from repository import errors, store
from repository.inspection import Inspection
from repository.models import Document

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Content:
    """A document's bytes as the request carried them, and what they measured on the way in."""

    open: Callable[[], BinaryIO]
    size: int
    sha1: str  # lowercase hex


def document_set_provide(*, submission: Submission, contents: Mapping[str, Content],
                         inspections: Sequence[Inspection] = (), transaction_name: str = "ITI-41",
                         source: str, source_host: str = "", destination: str = "") -> list[RegistryError]:
    """Store every document of `submission` and register it, all or nothing.

    `contents` maps each document's id as the source wrote it (symbolic or urn:uuid) to its
    bytes. Raises RegistryErrors; returns the registry's warnings on success.
    """
    found = _pairing(submission, contents) + [e for i in inspections for e in i.errors]
    if found:
        raise RegistryErrors(found)
    kept = _already_stored(submission)
    written: list[str] = []
    try:
        rows = _put(submission, contents, kept, written)
        try:
            with transaction.atomic():
                warnings = registry.submission_register(
                    submission=submission, source=source, source_host=source_host,
                    destination=destination, transaction_name=transaction_name)
                Document.objects.bulk_create(rows)
                for inspection in inspections:
                    if inspection.index is not None:
                        inspection.index()
        except IntegrityError:
            # A concurrent submission stored a document under one of these uniqueIds between
            # _already_stored and these rows: this one is refused whole, as the registry refuses.
            raise registry_errors_of(errors.REPOSITORY_ERROR, "a concurrent submission stored a "
                                     "document under one of these uniqueIds first; nothing was "
                                     "stored") from None
    except BaseException as failure:
        if not (isinstance(failure, DatabaseError) and not isinstance(failure, IntegrityError)
                and _rows_may_name(written)):
            _discard(written)
        raise
    return warnings


def _rows_may_name(keys: Sequence[str]) -> bool:
    """Whether a Document row may name one of `keys` after a database error at the commit: asked
    on a new connection; True when the database cannot answer (or the caller's own transaction
    holds the broken connection)."""
    if not keys:
        return False
    if connection.in_atomic_block:
        return True
    try:
        connection.close()
        return Document.objects.filter(key__in=list(keys)).exists()
    except DatabaseError:
        return True


def _pairing(submission: Submission, contents: Mapping[str, Content]) -> list[RegistryError]:
    """ITI TF-2b 3.41.4.1.3: every DocumentEntry has its document and every document its
    DocumentEntry; hash and size, when the source gave them, are those of the bytes."""
    found: list[RegistryError] = []
    named = set()
    seen_unique_ids: set[str] = set()
    for entry in submission.documents:
        sent_id = entry.symbolic_id or entry.entry_uuid
        named.add(sent_id)
        content = contents.get(sent_id)
        if content is None:
            found.append(RegistryError(errors.MISSING_DOCUMENT, "the message carries no document for "
                                       "this DocumentEntry", entry.location))
            continue
        if entry.unique_id in seen_unique_ids:
            found.append(RegistryError(errors.DUPLICATE_UNIQUE_ID_IN_MESSAGE, "two documents of the "
                                       "message have this uniqueId", f"{entry.location} uniqueId"))
        seen_unique_ids.add(entry.unique_id)
        found.extend(_measures(entry, content))
    for sent_id in contents:
        if sent_id not in named:
            found.append(RegistryError(errors.MISSING_DOCUMENT_METADATA, "no DocumentEntry describes "
                                       "this document", f"Document {sent_id}"))
    return found


def _measures(entry: DocumentEntry, content: Content) -> list[RegistryError]:
    found = []
    # ITI TF-3 4.2.3.2.13: hex of the SHA-1; case is not significant to the comparison.
    if entry.hash and entry.hash.lower() != content.sha1:
        found.append(RegistryError(errors.METADATA_ERROR, "the hash in the metadata is not the SHA-1 "
                                   "of the document", f"{entry.location} hash"))
    if entry.size and entry.size != str(content.size):
        found.append(RegistryError(errors.METADATA_ERROR, f"the size in the metadata is not the "
                                   f"document's {content.size} bytes", f"{entry.location} size"))
    return found


def _already_stored(submission: Submission) -> dict[str, Document]:
    """Documents resubmitted under a uniqueId the repository holds: identical bytes are kept
    once (ITI TF-2b 3.41.4.1.3, idempotent resubmission); different ones are refused."""
    unique_ids = [entry.unique_id for entry in submission.documents]
    held = {d.unique_id: d for d in Document.objects.filter(unique_id__in=unique_ids)}
    found = []
    for entry in submission.documents:
        document = held.get(entry.unique_id)
        if document is None:
            continue
        if entry.hash.lower() != document.sha1:
            found.append(RegistryError(registry_errors.NON_IDENTICAL_HASH, "the repository holds "
                                       "other content under this uniqueId", f"{entry.location} hash"))
        elif entry.size != str(document.size):
            found.append(RegistryError(registry_errors.NON_IDENTICAL_SIZE, "the repository holds "
                                       "content of another size under this uniqueId",
                                       f"{entry.location} size"))
    if found:
        raise RegistryErrors(found)
    return held


def _put(submission: Submission, contents: Mapping[str, Content], kept: Mapping[str, Document],
         written: list[str]) -> list[Document]:
    rows = []
    for entry in submission.documents:
        if entry.unique_id in kept:
            continue
        content = contents[entry.symbolic_id or entry.entry_uuid]
        key = _new_key()
        written.append(key)
        try:
            with content.open() as source:
                stored = store.store_put(source=source, key=key)
        except store.StoreFull:
            raise registry_errors_of(errors.OUT_OF_RESOURCES, "the repository's store is full; nothing "
                                     "was stored", entry.location) from None
        except store.StoreError:
            logger.exception("writing a document to the store failed")
            raise registry_errors_of(errors.REPOSITORY_ERROR, "the repository could not store the "
                                     "document; nothing was stored", entry.location) from None
        if (stored.sha1, stored.size) != (content.sha1, content.size):
            # The request's file changed between reading and storing: never register that.
            raise registry_errors_of(errors.REPOSITORY_ERROR, "the document changed while it was "
                                     "stored; nothing was stored", entry.location)
        rows.append(Document(unique_id=entry.unique_id, key=key, size=stored.size, sha1=stored.sha1,
                             mime_type=entry.mime_type, patient_id=entry.patient_id))
    return rows


def registry_errors_of(code: str, context: str, location: str = "") -> RegistryErrors:
    return RegistryErrors([RegistryError(code, context, location)])


def _new_key() -> str:
    # Keys are the repository's own, never the uniqueId: a source's uniqueId may hold any
    # character, and a resubmission must not overwrite bytes a reader may be streaming.
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name[2:4]}/{name}"


def _discard(keys: Sequence[str]) -> None:
    for key in keys:
        try:
            store.store_delete(key)
        except Exception:  # the orphan cleanup will find it
            logger.exception("removing a document the failed submission wrote failed")


@dataclass(frozen=True)
class RemoveRequest:
    repository_unique_id: str
    document_unique_id: str


def documents_remove(*, requests: Sequence[RemoveRequest], source: str, source_host: str = "",
                     destination: str = "") -> list[RegistryError]:
    """ITI-86 Remove Documents (ITI TF-2b 3.86.4.1.3): remove the bytes of each document named.

    Every document found is removed; each one not found is an error of its own, and the answer
    is PartialSuccess (or Failure when none was removed). Rows go in one transaction with the
    audit record; the bytes go after it commits (a failure there leaves an orphan, not a row
    without bytes).
    """
    found: list[RegistryError] = []
    wanted = []
    for request in requests:
        if request.repository_unique_id != settings.REPOSITORY_UNIQUE_ID:
            found.append(RegistryError(errors.UNKNOWN_REPOSITORY_ID, "not this repository's "
                                       "repositoryUniqueId", request.repository_unique_id))
        else:
            wanted.append(request.document_unique_id)
    with transaction.atomic():
        documents = list(Document.objects.select_for_update().filter(unique_id__in=wanted))
        held = {d.unique_id for d in documents}
        found.extend(RegistryError(errors.DOCUMENT_UNIQUE_ID_ERROR, "the repository holds no document "
                                   "with this uniqueId", unique_id)
                     for unique_id in wanted if unique_id not in held)
        Document.objects.filter(pk__in=[d.pk for d in documents]).delete()
        # PS3.15 A.5.1: 4 (minor failure) when some were not removed, 8 when none was.
        outcome = 0 if not found else (4 if documents else 8)
        audit.record(patient_record(
            transaction="ITI-86", action="D", sender=Peer(user_id=source, host=source_host),
            receiver=this_node(destination), patient_ids=sorted({d.patient_id for d in documents}),
            removed=[d.unique_id for d in documents] or [r.document_unique_id for r in requests],
            outcome=outcome, outcome_description="; ".join(e.code for e in found)[:1024]))
        keys = [d.key for d in documents]
        transaction.on_commit(lambda: _discard(keys))
    return found


def orphans_remove(*, older_than_seconds: int) -> int:
    """Remove stored bytes no Document row names, written longer ago than any upload lasts, and
    the partial files of writes a killed process left."""
    removed = store.store_partials_remove(older_than_seconds)
    for key in store.store_keys_older_than(older_than_seconds):
        if not Document.objects.filter(key=key).exists():
            store.store_delete(key)
            removed += 1
    return removed
