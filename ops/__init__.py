"""The node looking after itself: process heartbeats and the health check."""
