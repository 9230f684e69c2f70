"""URLs of the radiologists' pages, mounted at /priors/."""

from django.contrib.auth import views as auth
from django.urls import path, reverse_lazy

from imaging.web import views

app_name = "priors"

urlpatterns = [
    path("login/", auth.LoginView.as_view(template_name="imaging/priors/login.html",
                                          redirect_authenticated_user=True,
                                          next_page=reverse_lazy("priors:search")), name="login"),
    path("logout/", auth.LogoutView.as_view(next_page=reverse_lazy("priors:login")), name="logout"),
    path("", views.search, name="search"),
    # A patient by their record's key, never by MRN: the path is written to the access log.
    path("patients/<int:record_id>/", views.patient, name="patient"),
    path("patients/<int:record_id>/fetch", views.fetch, name="fetch"),
    path("patients/<int:record_id>/progress", views.progress, name="progress"),
    path("history/", views.history, name="history"),
]
