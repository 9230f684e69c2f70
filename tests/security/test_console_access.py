"""The operators' console refuses whoever lacks the role: every page of every model registered
in the admin, asked for anonymously or by a radiologist (a member of an organisation with no
console role), answers with the sign-in page and shows nothing (README: The operators' console)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from organisations.services import member_save, organisation_create

pytestmark = pytest.mark.django_db


def _console_pages() -> list[str]:
    pages = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    return pages


def _radiologist(client: Client) -> Client:
    hospital_b = organisation_create(code="hospb", name="Hospital B")
    rita = User.objects.create_user("rita", password="x" * 16)
    member_save(user=rita, organisation=hospital_b)
    client.force_login(rita)
    return client


@pytest.mark.parametrize("who", ["anonymous", "radiologist"])
def test_no_console_page_opens_without_a_console_role(client: Client, who: str) -> None:
    if who == "radiologist":
        client = _radiologist(client)
    pages = _console_pages()
    assert len(pages) > 20
    answers = {page: client.get(page) for page in pages}
    opened = [page for page, response in answers.items()
              if not (response.status_code == 302 and "/admin/login/" in response["Location"])]
    assert opened == []
