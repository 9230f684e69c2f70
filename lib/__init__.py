"""Small helpers with no framework in them."""
