"""Users and roles in the console, audited: who may do what is the exchange's security
configuration (PS3.15 A.5.3.11, Security Roles Changed)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from audit.events import SECURITY_ROLES_CHANGED
from ops.admin import AuditedAdmin

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    audit_type_code = SECURITY_ROLES_CHANGED


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    audit_type_code = SECURITY_ROLES_CHANGED
