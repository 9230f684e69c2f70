"""Tests of `imaging`: the storage SCP, DICOM nodes, manifests, prefetch."""
