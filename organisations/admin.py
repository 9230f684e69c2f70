"""The operators' view of organisations and their assigning authorities."""

from django.contrib import admin

from organisations.models import AssigningAuthority, Organisation


class AssigningAuthorityInline(admin.TabularInline):
    model = AssigningAuthority
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "active"]
    search_fields = ["name", "code"]
    inlines = [AssigningAuthorityInline]


@admin.register(AssigningAuthority)
class AssigningAuthorityAdmin(admin.ModelAdmin):
    list_display = ["namespace_id", "universal_id", "universal_id_type", "organisation",
                    "is_affinity_domain"]
    search_fields = ["namespace_id", "universal_id"]
