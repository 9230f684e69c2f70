"""ebRIM wire: the classification and identification scheme UUIDs of XDS metadata (ITI TF-3 4.2.5)."""

# ITI TF-3 Table 4.2.5-1: classification nodes naming what a RegistryPackage is.
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
FOLDER_NODE = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"

# DocumentEntry (ITI TF-3 4.2.3.2): classification schemes by attribute name.
DOCUMENT_CLASSIFICATIONS = {
    "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d": "author",
    "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a": "classCode",
    "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f": "confidentialityCode",
    "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4": "eventCodeList",
    "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d": "formatCode",
    "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1": "healthcareFacilityTypeCode",
    "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead": "practiceSettingCode",
    "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983": "typeCode",
    # ITI TF-3 4.2.3.2.13: limitedMetadata flags a Metadata-Limited source (no node value).
    "urn:uuid:ab9b591b-83ab-4d03-8f5d-f93b1fb92e85": "limitedMetadata",
}
DOCUMENT_IDENTIFIERS = {
    "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427": "patientId",
    "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab": "uniqueId",
}

# SubmissionSet (ITI TF-3 4.2.3.3).
SUBMISSION_SET_CLASSIFICATIONS = {
    "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d": "author",
    "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500": "contentTypeCode",
    "urn:uuid:5003a9db-8d8d-49e6-bf0c-990e34ac7707": "limitedMetadata",
}
SUBMISSION_SET_IDENTIFIERS = {
    "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446": "patientId",
    "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832": "sourceId",
    "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8": "uniqueId",
}

# Folder (ITI TF-3 4.2.3.4).
FOLDER_CLASSIFICATIONS = {
    "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5": "codeList",
    "urn:uuid:2c144a76-29a9-4b7c-af54-b25409fe7d03": "limitedMetadata",
}
FOLDER_IDENTIFIERS = {
    "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a": "patientId",
    "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a": "uniqueId",
}
