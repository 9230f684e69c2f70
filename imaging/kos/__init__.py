"""KOS manifests of XDS-I.b (RAD TF-3 4.68.4.1.2): read, checked against their metadata, indexed.

    manifest.py   the manifest as plain frozen objects (no DICOM library)
    read.py       a Part 10 file read into a Manifest with pydicom; NotAManifest otherwise
    check.py      the manifest against its DocumentEntry (RAD TF-3 4.68.4.1.2.3)
    services.py   index a registered manifest's references, or remove them
    selectors.py  a patient's studies, and the instances a RAD-69 request names
"""
