"""Errors of the FHIR facade, answered as an OperationOutcome with the HTTP status FHIR asks for.

FHIR R4 http.html 3.1.0.4: 400 for a request the server cannot read or parameters it does not
support, 401 without credentials, 403 without the scope, 404 for an unknown resource, 405 for an
interaction the type does not offer, 413 for a body too large, 422 for a request that breaks a
business rule (profile or content), 409 or 412 for conflicts.
"""

from __future__ import annotations

from typing import Any


class FhirError(Exception):
    """A refusal: `code` is from the IssueType value set (FHIR R4 valueset-issue-type)."""

    def __init__(self, status: int, diagnostics: str, *, code: str = "invalid", expression: str = "",
                 headers: dict[str, str] | None = None, issues: list[dict[str, Any]] | None = None,
                 audited: bool = False) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code
        self.expression = expression
        self.headers = headers or {}
        # Several issues at once (every error of a refused submission), in place of the one.
        self.issues = issues or []
        # The handler recorded the refusal itself (with the patient it was about): the view
        # must not record it again.
        self.audited = audited

    def outcome(self) -> dict[str, Any]:
        if self.issues:
            return {"resourceType": "OperationOutcome", "issue": self.issues}
        return operation_outcome(severity="error", code=self.code, diagnostics=self.diagnostics,
                                 expression=self.expression)


def operation_outcome(*, severity: str, code: str, diagnostics: str, expression: str = "") -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def bad_request(diagnostics: str, *, expression: str = "", code: str = "invalid") -> FhirError:
    return FhirError(400, diagnostics, code=code, expression=expression)


def not_found(diagnostics: str) -> FhirError:
    return FhirError(404, diagnostics, code="not-found")


def unprocessable(diagnostics: str, *, expression: str = "", code: str = "business-rule") -> FhirError:
    return FhirError(422, diagnostics, code=code, expression=expression)
