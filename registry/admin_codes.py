"""The affinity domain's value sets in the console (ITI TF-3 4.2.3.2): edited row by row, imported
from CSV in one audited transaction, exported as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from ops.admin import AuditedAdmin
from ops.console import actor
from registry.models import CodeValue
from registry.services.codes import CodeRow, CodeValuesRefused, code_values_import

COLUMNS = ("kind", "code", "scheme", "display_name")
MAX_BYTES = 5 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV in UTF-8 with the header row kind,code,scheme,display_name; "
                                     "at most 5 MB")


@admin.register(CodeValue)
class CodeValueAdmin(AuditedAdmin):
    """The affinity domain's value sets, which metadata is checked against (ITI TF-3 4.2.3.2)."""

    list_display = ["kind", "code", "scheme", "display_name"]
    list_filter = ["kind", "scheme"]  # a small table: its DISTINCTs are cheap
    search_fields = ["code", "display_name", "scheme"]
    actions = ["export_csv"]
    change_list_template = "admin/registry/codevalue/change_list.html"

    def may_import(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        context = {**(extra_context or {}), "may_import": self.may_import(request)}
        return super().changelist_view(request, extra_context=context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="registry_codevalue_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.may_import(request):
            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                rows = read_csv(form.cleaned_data["file"])
                inserted, updated = code_values_import(rows=rows, actor=actor(request))
            except CodeValuesRefused as refused:
                self.message_user(request, f"Nothing was imported: {refused}", messages.ERROR)
            else:
                self.message_user(request, f"{len(rows)} rows imported: {inserted} codes added, {updated} "
                                  "display names changed.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:registry_codevalue_changelist"))
        return TemplateResponse(request, "admin/registry/codevalue/import_form.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "form": form,
            "title": "Import value sets from CSV", "columns": ",".join(COLUMNS)})

    @admin.action(description="Export the selected codes as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[CodeValue]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="value-sets.csv"'
        writer = csv.writer(response)
        writer.writerow(COLUMNS)
        for value in queryset.order_by("kind", "scheme", "code").iterator():
            writer.writerow([value.kind, value.code, value.scheme, value.display_name])
        return response


def read_csv(upload: Any) -> list[CodeRow]:
    """The rows of an uploaded CSV file; CodeValuesRefused for a file too large, not UTF-8, without
    the header row, or with a row of the wrong shape (by its line)."""
    if upload.size > MAX_BYTES:
        raise CodeValuesRefused(f"the file is {upload.size:,} bytes; at most {MAX_BYTES:,} are read")
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodeValuesRefused(f"the file is not UTF-8 (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if tuple(header) != COLUMNS:
        raise CodeValuesRefused(f"line 1: the header row must be {','.join(COLUMNS)}")
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(COLUMNS):
                raise CodeValuesRefused(f"line {reader.line_num}: {len(values)} columns, "
                                        f"{len(COLUMNS)} expected")
            kind, code, scheme, display_name = (v.strip() for v in values)
            rows.append(CodeRow(reader.line_num, kind, code, scheme, display_name))
    except csv.Error as exc:
        raise CodeValuesRefused(f"line {reader.line_num}: {exc}") from None
    return rows
