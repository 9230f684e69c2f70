"""MHD 4.2 Document Recipient and Responder: XDS metadata as DocumentReference, List and Binary."""
