"""Tests of `imaging.dicom`: the node's DICOM listener, against real peers."""
