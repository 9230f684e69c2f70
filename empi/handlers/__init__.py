"""The EMPI's protocol edges: HL7 v2 over MLLP (`v2`)."""
