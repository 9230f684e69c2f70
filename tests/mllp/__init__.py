"""Tests of mllp/: framing, reading, ACKs, dispatch, the listener in-process and as the node runs it."""
