"""The roles of the operators' console, as Django groups with their permissions.

Synced after every `migrate`, so each database has them, demo or not. A role names the models it
may change and the ones it may only view; everything else it cannot see.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

OPERATOR = "operator"
DATA_STEWARD = "data_steward"
AUDITOR = "auditor"
RADIOLOGIST = "radiologist"

# role -> (app labels it manages fully, "app.codename" permissions it has besides)
ROLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    OPERATOR: (("organisations", "ops", "fhir_api"), (
        "audit.view_auditevent",
        # The DICOM nodes are the operators' to configure; what was registered and stored they
        # see but change only through the transactions.
        "imaging.add_dicomnode", "imaging.change_dicomnode", "imaging.delete_dicomnode",
        "imaging.view_dicomnode", "imaging.view_manifeststudy", "repository.view_document",
        # Which outside priors an order brings is the operators' to configure, per site.
        "imaging.add_relevantpriorrule", "imaging.change_relevantpriorrule",
        "imaging.delete_relevantpriorrule", "imaging.view_relevantpriorrule",
        "registry.view_documententry", "registry.view_submissionset", "registry.view_folder",
        "registry.view_association", "registry.view_patientidentity",
        # Deprecate (ITI-57) and delete (ITI-62, ITI-86) in the console, through the services.
        "registry.change_documententry",
        "registry.view_codevalue", "registry.add_codevalue", "registry.change_codevalue",
        "registry.delete_codevalue",
        # The data steward's console: the EMPI is seen, and links move only through the steward
        # actions (empi/admin.py), all gated by change_patientrecord; no row is edited as a form.
        "empi.view_person", "empi.view_patientrecord", "empi.view_linkevent",
        "empi.view_reviewitem", "empi.view_notsameperson", "empi.view_matchparameters",
        "empi.change_patientrecord",
        # The PIX consumers subscribed to ITI-10 notifications are the operators' to configure.
        "empi.add_pixconsumer", "empi.change_pixconsumer", "empi.delete_pixconsumer",
        "empi.view_pixconsumer",
        # Prefetch jobs: seen with their studies and rules; retry and cancel (the admin's
        # actions, through the services) are gated by change_prefetchjob.
        "imaging.view_prefetchjob", "imaging.view_prefetchstudy", "imaging.view_relevantpriorrule",
        "imaging.change_prefetchjob")),
    # The data steward decides who is who in the EMPI: persons, records, link history, the review
    # queue, merges (all through empi/admin.py's actions, gated by change_patientrecord), and sees
    # a person's documents and studies to decide. Never the audit trail.
    DATA_STEWARD: ((), (
        "empi.view_person", "empi.view_patientrecord", "empi.view_linkevent",
        "empi.view_reviewitem", "empi.view_notsameperson", "empi.view_matchparameters",
        "empi.change_patientrecord", "registry.view_documententry", "registry.view_submissionset",
        "registry.view_folder", "registry.view_codevalue", "imaging.view_manifeststudy")),
    # The auditor reads the trail and nothing else (ITI TF-2 3.20: who saw what, when).
    AUDITOR: ((), ("audit.view_auditevent", "audit.view_auditchain")),
    # The radiologist works in the priors pages (imaging/web), as a Member of one organisation;
    # the operators' console shows them nothing.
    RADIOLOGIST: ((), ()),
}


def roles_sync(**_: Any) -> None:
    """Create each role's group and give it exactly its permissions."""
    for name, (apps, extra) in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        wanted = Q(content_type__app_label__in=apps)
        for dotted in extra:
            app_label, codename = dotted.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(wanted))
