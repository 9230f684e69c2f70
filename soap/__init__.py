"""SOAP 1.2 plumbing: envelope, WS-Addressing, MTOM/XOP, faults, the hardened parser.

It knows no IHE transaction: config/routes.py maps actions to the handlers that do.
"""
