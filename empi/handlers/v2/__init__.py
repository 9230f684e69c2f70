"""PIX over HL7 v2 (ITI TF-2a 3.8, 3.9): the only part of the EMPI that reads the wire with python-hl7."""
