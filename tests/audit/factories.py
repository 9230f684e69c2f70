"""Audit records for tests that need one without caring which transaction it describes."""

from __future__ import annotations

from datetime import UTC, datetime

from audit.records import AuditRecord, AuditSource, Code, Participant, ParticipantObject


def a_query_record(*, patient: str = "A123^^^&1.3.6.1.4.1.21367.13.20.1000&ISO",
                   outcome: int = 0) -> AuditRecord:
    return AuditRecord(
        event_id=Code("110112", "DCM", "Query"),
        action_code="E",
        event_datetime=datetime.now(UTC),
        outcome=outcome,
        source=AuditSource("HIENODE"),
        event_type_codes=(Code("ITI-18", "IHE Transactions", "Registry Stored Query"),),
        participants=(
            Participant("hospb-consumer", is_requestor=True, network_access_point_id="127.0.0.1",
                        network_access_point_type_code=2,
                        role_id_codes=(Code("110153", "DCM", "Source Role ID"),)),
        ),
        objects=(
            ParticipantObject(patient, type_code=1, type_code_role=1,
                              id_type_code=Code("2", "RFC-3881", "Patient Number")),
            ParticipantObject("urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", type_code=2,
                              type_code_role=24, id_type_code=Code("ITI-18", "IHE Transactions"),
                              query=b"<AdhocQueryRequest/>"),
        ),
    )
