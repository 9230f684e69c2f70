"""Imaging: DICOM nodes, the storage SCP, KOS manifests, prior prefetch, RAD-69."""
