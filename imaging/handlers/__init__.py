"""Protocol handlers of the imaging domain: RAD-69 over SOAP."""
