"""Real servers on loopback for integration tests: PostgreSQL, Redis, Orthanc, the node itself."""
