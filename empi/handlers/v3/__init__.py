"""ITI-44, ITI-45 (PIXv3) and ITI-47 (PDQv3) over SOAP: the only part of the EMPI that reads HL7 v3."""
