"""Who may open the radiologists' pages: a signed-in user with the radiologist role in an organisation."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from imaging.web import selectors
from organisations.models import Member

LOGIN_URL = reverse_lazy("priors:login")

View = Callable[..., HttpResponse]


def radiologist_required(view: View) -> View:
    """Sign in first; then a user who is no radiologist of an active organisation gets 403."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        member: Member | None = selectors.radiologist_member(request.user)
        if member is None:
            return render(request, "imaging/priors/forbidden.html", status=403)
        return view(request, member, *args, **kwargs)

    return login_required(checked, login_url=LOGIN_URL)
