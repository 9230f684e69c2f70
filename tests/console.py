"""What the tests of the operators' console share: a signed-in client per role, and the query
count of a page (the same with three rows as with thirty: no query per row)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from organisations.roles import roles_sync


def signed_in(client: Client, role: str, *, username: str = "") -> Client:
    """`client` signed in as a staff user holding `role` (organisations.roles) and nothing more."""
    roles_sync()
    user = User.objects.create_user(username or f"{role}-{User.objects.count() + 1}",
                                    password="x" * 16, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def queries_on(client: Client, url: str) -> int:
    """How many SQL queries answering GET `url` takes (it must answer 200)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def assert_no_query_per_row(client: Client, url: str, add_rows: Callable[[int], None]) -> None:
    """The page's query count does not grow with its rows: measured after `add_rows(3)`, then
    after `add_rows(27)` more."""
    add_rows(3)
    few = queries_on(client, url)
    add_rows(27)
    many = queries_on(client, url)
    assert many == few, f"{url}: {few} queries with 3 rows, {many} with 30"
