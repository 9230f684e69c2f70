"""XDS.b Document Repository: document bytes and their store (ITI-41/43/86, RAD-68)."""
