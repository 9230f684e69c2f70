"""The EMPI's management commands."""
