"""The NIST XDS Toolkit's registry tests (../shared/ihe/nist-testkit/tests), run against the node."""
