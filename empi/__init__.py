"""The EMPI: persons, source patient records, matching, links, PIX/PDQ."""
