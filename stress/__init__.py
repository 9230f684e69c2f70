"""The node under load on loopback (`make stress`; see README.md)."""
