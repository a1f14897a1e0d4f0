import pytest

from accounts.models import Role
from tests.accounts.factories import UserFactory
from tests.conftest import new_client

HIGH_RISK = {
    "cssrs_performed": True,
    "cssrs_wish_dead": True,
    "cssrs_suicidal_thoughts": True,
    "cssrs_method": True,
    "cssrs_intent": True,
    "cssrs_plan": False,
    "cssrs_behavior": False,
}


@pytest.fixture
def login(client):
    """login(user) -> the test client, signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


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
