from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from accounts.models import Agency, Role, Team, User
from audit.models import AuditEvent
from cases.cssrs import RiskLevel
from cases.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Client,
    ClientIdentifier,
    Contact,
    ContactAmendment,
    EmergencyAccess,
)
from followups.management.commands.seed_demo_followups import REMINDER_CLIENT, STORIES
from tests.class_data import on_clock

FOLLOWUP_DEMO_CLIENTS = [REMINDER_CLIENT] + [
    story["client"][0] for stories in STORIES.values() for story in stories
]
DEMO_LOGINS = ("alice", "bob", "erin", "sam", "sofia", "dana", "carol", "dave", "admin")
MODELS = (
    Agency,
    Team,
    User,
    Client,
    ClientIdentifier,
    Case,
    CaseEvent,
    Contact,
    ContactAmendment,
    EmergencyAccess,
    AuditEvent,
)


def seed():
    call_command("seed_demo", stdout=StringIO())


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def seeded(demo_seeded_for_class, db, monkeypatch):
    """The demo data, seeded once for the class (tests/class_data.py)."""
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    with on_clock(demo_seeded_for_class):
        yield


def signs_in(username, password):
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password) is not None


def agency(name):
    return Agency.objects.get(name=name)


@pytest.mark.usefixtures("seeded")
class TestSeedDemo:
    def test_a_second_run_changes_nothing(self):
        before = counts()
        passwords = dict(User.objects.values_list("username", "password"))

        seed()

        assert counts() == before
        assert dict(User.objects.values_list("username", "password")) == passwords

    def test_every_demo_login_signs_in_with_the_demo_password(self):
        for username in DEMO_LOGINS:
            assert signs_in(username, "casebook-demo"), username

    def test_the_roles_and_teams_are_the_documented_ones(self):
        lane = agency("Lane County Crisis Response")
        north = Team.objects.get(agency=lane, name="Mobile Crisis North")
        users = {u.username: u for u in User.objects.all()}

        assert {users["alice"].team, users["bob"].team} == {north}
        assert users["alice"].role == Role.SOCIAL_WORKER
        assert list(users["sam"].supervised_teams.all()) == [north]
        assert users["dana"].role == Role.AGENCY_ADMIN
        assert users["dana"].agency == lane
        assert users["carol"].agency.name == "Denver STAR"
        assert users["admin"].role == Role.SYSTEM_ADMIN
        assert users["admin"].agency is None
        assert users["admin"].is_superuser and users["admin"].is_staff

    def test_both_agencies_have_clients_cases_and_contacts(self):
        lane = agency("Lane County Crisis Response")
        star = agency("Denver STAR")

        # The follow-up demo (seed_demo_followups, run at the end) adds clients of its own.
        stories = Client.objects.exclude(legal_name__in=FOLLOWUP_DEMO_CLIENTS)
        assert 12 <= stories.filter(agency=lane).count() <= 20
        assert stories.filter(agency=star).count() >= 5
        carol = User.objects.get(username="carol")
        assert Case.objects.visible_to(carol).open().count() >= 4
        assert Contact.objects.visible_to(carol).exists()

    def test_records_went_through_the_workflows(self):
        contacts = Contact.objects.count()

        assert CaseEvent.objects.filter(kind="contact").count() == contacts
        assert AuditEvent.objects.filter(action="create", object_type="contact").count() == (
            contacts
        )

    def test_the_screens_give_every_risk_level(self):
        levels = set(Case.objects.values_list("risk_level", flat=True))

        assert {RiskLevel.LOW, RiskLevel.MODERATE, RiskLevel.HIGH} <= levels

    def test_the_demo_covers_amendments_closed_cases_and_odd_clients(self):
        assert ContactAmendment.objects.exists()
        assert Case.objects.filter(status=CaseStatus.CLOSED).exists()
        assert Client.objects.filter(
            legal_name="José Álvarez Núñez", preferred_name="Pepe"
        ).exists()
        assert Client.objects.filter(date_of_birth=None, estimated_age__isnull=False).exists()
        assert ClientIdentifier.objects.filter(kind="hmis").exists()

    def test_sam_has_an_emergency_access_to_review(self):
        sam = User.objects.get(username="sam")

        grant = EmergencyAccess.objects.for_supervisor(sam).get()

        assert grant.user.username == "erin"
        assert grant.case.assigned_worker.username == "alice"
        assert grant.reviewed_at is None


@pytest.mark.django_db
class TestSeedDemoPassword:
    def test_it_uses_demo_password_from_the_environment(self, monkeypatch):
        monkeypatch.setenv("DEMO_PASSWORD", "another-demo-pass")

        seed()

        assert signs_in("alice", "another-demo-pass")
        assert not signs_in("alice", "casebook-demo")

    def test_a_changed_demo_password_applies_on_the_next_run(self, monkeypatch):
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
        seed()
        monkeypatch.setenv("DEMO_PASSWORD", "another-demo-pass")

        seed()

        assert signs_in("carol", "another-demo-pass")


class TestDemoAgencyAdmin:
    def test_dana_manages_her_agencys_users_in_the_admin(self, seeded, client):
        client.force_login(User.objects.get(username="dana"))
        response = client.get("/admin/accounts/user/")
        assert response.status_code == 200
        names = {u.username for u in response.context["cl"].queryset}
        assert "alice" in names
        assert "carol" not in names
