"""Users and roles in the console, audited: who may do what is the exchange's security
configuration (PS3.15 A.5.3.11, Security Roles Changed). The pages other packages register
(django-oauth-toolkit's applications and tokens) are audited the same way."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from audit.events import SECURITY_CONFIGURATION, SECURITY_ROLES_CHANGED
from ops.admin import AuditedAdmin

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    audit_type_code = SECURITY_ROLES_CHANGED


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    audit_type_code = SECURITY_ROLES_CHANGED


# Registered before this module was imported (INSTALLED_APPS lists them first): each page is
# registered again as an AuditedAdmin of itself. OAuth2 applications and tokens are who may call
# the FHIR facade: security configuration.
for _model, _page in list(admin.site._registry.items()):
    if not isinstance(_page, AuditedAdmin):
        admin.site.unregister(_model)
        admin.site.register(_model, type(f"Audited{type(_page).__name__}", (AuditedAdmin, type(_page)),
                                         {"audit_type_code": SECURITY_CONFIGURATION}))
