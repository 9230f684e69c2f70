"""Faults against the real servers, run by `make stress` only (see stress/README.md)."""
