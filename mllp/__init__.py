"""HL7 v2 over MLLP: framing, the asyncio listener, ACKs, dispatch on MSH-9. Knows no domain."""
