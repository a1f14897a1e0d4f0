import pytest

from accounts.models import Role
from tests.accounts.factories import UserFactory
from tests.conftest import HIGH_RISK, new_client


@pytest.fixture
def alice_high_risk_case(alice, record_contact_for):
    return record_contact_for(
        alice,
        new_client_data=new_client(legal_name="Harper High", phone="541-555-0111"),
        **HIGH_RISK,
    ).case


@pytest.fixture
def frank(team_a2):
    """erin's teammate, outside sam's teams."""
    return UserFactory(
        username="frank", team=team_a2, agency=team_a2.agency, role=Role.SOCIAL_WORKER
    )
