"""The node's DICOM edge: its application entity, the C-ECHO and C-STORE handlers."""
