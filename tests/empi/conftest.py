"""The demo affinity domain every EMPI test runs in: hospitals A and B and the exchange itself."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from organisations.models import AssigningAuthority
from organisations.services import demo_bootstrap

AFFINITY_CX4 = "IHEHIE&1.3.6.1.4.1.21367.2005.3.7&ISO"
HOSPITAL_A_CX4 = "HOSPA&1.3.6.1.4.1.21367.13.20.1000&ISO"
HOSPITAL_B_CX4 = "HOSPB&1.3.6.1.4.1.21367.13.20.2000&ISO"


@dataclass(frozen=True)
class Domain:
    affinity: AssigningAuthority
    hospital_a: AssigningAuthority
    hospital_b: AssigningAuthority


@pytest.fixture
def domain(db: None) -> Domain:
    demo_bootstrap(affinity_domain_cx4=AFFINITY_CX4, operator_username="operator",
                   operator_password="not-a-secret")
    return Domain(
        affinity=AssigningAuthority.objects.get(is_affinity_domain=True),
        hospital_a=AssigningAuthority.objects.get(universal_id="1.3.6.1.4.1.21367.13.20.1000"),
        hospital_b=AssigningAuthority.objects.get(universal_id="1.3.6.1.4.1.21367.13.20.2000"),
    )


@pytest.fixture
def himss_domains(domain: Domain) -> None:
    """The assigning authorities IPF's example feeds name, as affiliated domains."""
    from organisations.services import organisation_create

    organisation_create(code="himss", name="HIMSS 2005",
                        authority_cx4="HIMSS2005&1.3.6.1.4.1.21367.2005.1.1&ISO")
    organisation_create(code="demo1000", name="Demo 1000", authority_cx4="&1.2.3.4.5.1000&ISO")
    organisation_create(code="domain1", name="Domain 1", authority_cx4="domain1&1.2.3.4.666&ISO")
