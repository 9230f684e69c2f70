"""ATNA: the audit outbox, DICOM PS3.15 A.5 messages, forwarding to the audit repository."""
