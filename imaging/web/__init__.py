"""The radiologists' pages: a patient of their own organisation, the outside priors, fetching them."""
