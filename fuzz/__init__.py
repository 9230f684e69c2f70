"""Fuzzing the parsers of hostile input with hypothesis: `python -m fuzz <parser> --seconds N`.

Each module fuzzes one parser in process and states one property: the parser answers with a
result or with its protocol's own refusal, never with any other exception. See README.md.
"""
