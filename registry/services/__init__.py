"""Domain: the registry's writes, one module per sub-domain.

`register` stores ITI-42 submissions and makes patient IDs known, merges and unmerges them;
`update` makes new versions and changes statuses (ITI-57), `delete` removes objects (ITI-62).
"""

from registry.services.delete import objects_remove
from registry.services.register import (
    patient_identities_register,
    patient_identity_merge,
    patient_identity_register,
    patient_identity_unmerge,
    submission_register,
)
from registry.services.update import submission_update

__all__ = ["objects_remove", "patient_identities_register", "patient_identity_merge",
           "patient_identity_register", "patient_identity_unmerge", "submission_register",
           "submission_update"]
