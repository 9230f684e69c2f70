"""Outside priors: finding a patient's studies at other sites and moving them to the requesting
site's PACS (the prefetcher of DESIGN.md, dcm4chee-arc's prefetch rules as the reference)."""
