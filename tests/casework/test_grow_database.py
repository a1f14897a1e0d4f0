"""grow_database: a database grown to a number of cases, topped up, and usable by the pages.

The data is grown once for the class (tests/class_data.py); each test sees it as made."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Agency, Role, Team, User
from audit.models import AuditEvent
from cases.cssrs import QUESTIONS, risk_level
from cases.models import Case, CaseEvent, CaseStatus, Client, Contact, name_key, phone_digits
from cases.names import name_tokens, phonetic_key
from casework.growth.chunks import insert
from casework.growth.pools import FIRST_NAMES, LAST_NAMES
from casework.growth.reference import nickname
from core.i18n import render_stored
from followups.models import OPEN_STATUSES, Enrolment, FollowUp, HospitalVisit
from referrals.models import OUTCOMES_FOR_STATUS, Referral
from tests.class_data import class_transaction, on_clock, suite_instant

CASES = 600
AUDIT_PER_CASE = 2
SMALL = ("--agencies", "2", "--teams", "3", "--workers", "2", "--audit-per-case", "2")
MINUTE = datetime.timedelta(minutes=1)
GROWN = (Client, Case, Contact, CaseEvent, HospitalVisit, Enrolment, FollowUp, Referral)


def grow(cases, *options):
    out = StringIO()
    call_command("grow_database", "--cases", str(cases), *SMALL, *options, stdout=out)
    return out.getvalue()


def counts():
    return {model.__name__: model.objects.count() for model in (*GROWN, AuditEvent, User, Team)}


@pytest.fixture(scope="class")
def grown_for_class(request, django_db_setup, django_db_blocker):
    with class_transaction(django_db_blocker, suite_instant(request.config)) as moved:
        output = grow(CASES)
        yield moved, output


@pytest.fixture
def grown(grown_for_class, db):
    """The command's output; the database grown to CASES cases, on the clock it was."""
    moved, output = grown_for_class
    with on_clock(moved):
        yield output


class TestGrowDatabase:
    def test_it_grows_to_the_number_of_cases(self, grown):
        assert Case.objects.count() == CASES
        assert AuditEvent.objects.count() == CASES * AUDIT_PER_CASE
        assert f"Added {CASES} cases" in grown
        assert "rows/s" in grown

    def test_a_second_run_to_the_same_size_adds_nothing(self, grown):
        before = counts()

        output = grow(CASES)

        assert counts() == before
        assert "none added" in output

    def test_a_larger_size_tops_it_up_with_the_same_staff(self, grown):
        before = counts()

        grow(CASES + 150, "--chunk", "100")

        after = counts()
        assert after["Case"] == CASES + 150
        assert after["AuditEvent"] == (CASES + 150) * AUDIT_PER_CASE
        assert all(after[name] > before[name] for name in ("Client", "Contact", "FollowUp"))
        assert (after["User"], after["Team"]) == (before["User"], before["Team"])
        assert (
            Case.objects.filter(status=CaseStatus.OPEN)
            .values("client")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .count()
            == 0
        )

    def test_it_makes_the_agencies_teams_and_staff(self, grown):
        agencies = Agency.objects.filter(slug__startswith="scale-agency-")
        assert sorted(agencies.values_list("name", flat=True)) == [
            "Scale agency 1",
            "Scale agency 2",
        ]
        assert Team.objects.filter(agency__in=agencies).count() == 6
        staff = User.objects.filter(agency__in=agencies)
        assert staff.filter(role=Role.SOCIAL_WORKER, team__isnull=False).count() == 12
        assert staff.filter(role=Role.AGENCY_ADMIN).count() == 2
        supervisors = staff.filter(role=Role.SUPERVISOR).annotate(n=Count("supervised_teams"))
        assert sorted(supervisors.values_list("n", flat=True)) == [1] * 6
        assert not any(user.has_usable_password() for user in staff)

    def test_every_case_keeps_to_one_agency_and_team(self, grown):
        cases = Case.objects.all()
        assert not cases.exclude(client__agency=F("agency")).exists()
        assert not cases.exclude(team__agency=F("agency")).exists()
        assert not cases.exclude(assigned_worker__team=F("team")).exists()
        assert not Contact.objects.exclude(client=F("case__client")).exists()
        assert not Referral.objects.exclude(agency=F("case__agency")).exists()
        assert not FollowUp.objects.exclude(assigned_to=F("case__assigned_worker")).exists()

    def test_a_client_has_at_most_one_open_case_and_a_few_come_back(self, grown):
        per_client = Client.objects.annotate(
            n_cases=Count("cases"), n_open=Count("cases", filter=Q(cases__status=CaseStatus.OPEN))
        )
        assert per_client.filter(n_open__gt=1).count() == 0
        returning = per_client.filter(n_cases=2).count()
        assert 0 < returning < CASES * 0.1

    def test_about_one_case_in_ten_is_open_in_every_team_the_newest(self, grown):
        open_cases = Case.objects.filter(status=CaseStatus.OPEN)
        assert CASES * 0.05 < open_cases.count() < CASES * 0.16
        assert set(open_cases.values_list("team", flat=True)) == set(
            Case.objects.values_list("team", flat=True)
        )
        recent = Case.objects.filter(opened_at__gte=timezone.now() - datetime.timedelta(days=150))
        assert not open_cases.exclude(pk__in=recent).exists()
        assert open_cases.count() > recent.count() * 0.6

    def test_every_table_has_rows_in_several_statuses(self, grown):
        assert Contact.objects.count() > CASES
        assert CaseEvent.objects.count() > Contact.objects.count()
        assert HospitalVisit.objects.exists()
        assert Enrolment.objects.values("trigger").distinct().count() >= 3
        for model, at_least in ((Case, 2), (Referral, 6), (FollowUp, 4), (Enrolment, 2)):
            assert model.objects.values("status").distinct().count() >= at_least, model
        assert Contact.objects.values("risk_level").distinct().count() == 5

    def test_open_cases_have_pending_follow_ups_closed_ones_none(self, grown):
        pending = FollowUp.objects.filter(status__in=OPEN_STATUSES)
        assert not pending.filter(case__status=CaseStatus.CLOSED).exists()
        open_cases = Case.objects.filter(status=CaseStatus.OPEN)
        with_pending = open_cases.filter(followups__in=pending).distinct().count()
        assert with_pending > open_cases.count() * 0.8

    def test_pending_follow_ups_are_as_the_sweeper_would_leave_them(self, grown):
        now = timezone.now()
        # Left out: a boundary passed since the data was grown, a few seconds ago.
        just_passed = Q(window_start__range=(now - MINUTE, now)) | Q(
            due_at__range=(now - MINUTE, now)
        )
        pending = FollowUp.objects.filter(status__in=OPEN_STATUSES).exclude(just_passed)
        assert pending.exists()
        for fu in pending:
            assert fu.status == fu.status_at(now)
            assert fu.next_check_at == fu.next_boundary(now)

    def test_client_search_keys_are_the_applications(self, grown):
        for client in Client.objects.all():
            assert client.name_key == name_key(client.legal_name, client.preferred_name)
            assert client.name_phonetic == phonetic_key(client.legal_name, client.preferred_name)
            assert client.phone_normalized == phone_digits(client.phone)
        assert Client.objects.exclude(preferred_name="").exists()
        assert Client.objects.filter(is_unidentified=True, legal_name="").exists()

    def test_a_case_risk_is_its_first_screen(self, grown):
        for contact in Contact.objects.filter(cssrs_performed=True).select_related("case"):
            answers = {key: getattr(contact, key) for key in QUESTIONS}
            assert risk_level(answers) == contact.risk_level == contact.case.risk_level

    def test_referral_outcomes_fit_their_status(self, grown):
        for referral in Referral.objects.all():
            assert referral.outcome in OUTCOMES_FOR_STATUS.get(referral.status, ("",))
            assert referral.last_activity_at >= referral.created_at

    def test_timeline_events_are_stored_texts_as_cases_events_writes_them(self, grown):
        events = list(CaseEvent.objects.all())
        assert {event.kind for event in events} == {"opened", "contact", "closed"}
        for event in events:
            # The message and its arguments give back the English summary, in English...
            assert event.detail["i18n"]["m"]
            with translation.override("en"):
                assert event.text == event.summary
            # ...and read in another language without falling back to it.
            with translation.override("es"):
                assert event.text == render_stored(event.detail["i18n"], "")

    def test_a_grown_worker_sees_their_open_cases(self, grown, login):
        worker = (
            User.objects.filter(role=Role.SOCIAL_WORKER, username__startswith="scale-")
            .annotate(n=Count("assigned_cases", filter=Q(assigned_cases__status="open")))
            .order_by("-n")
            .first()
        )
        browser = login(worker)

        response = browser.get(reverse("casework:caseload"))

        assert response.status_code == 200
        shown = {case.pk for case in response.context["mine"]}
        assert shown == set(
            Case.objects.filter(assigned_worker=worker, status=CaseStatus.OPEN).values_list(
                "pk", flat=True
            )
        )
        assert browser.get(reverse("casework:case_detail", args=[min(shown)])).status_code == 200


class TestGrowDatabaseRefuses:
    def test_another_database_than_postgresql(self, db, monkeypatch):
        monkeypatch.setattr(connection, "vendor", "sqlite")

        with pytest.raises(CommandError, match="needs PostgreSQL"):
            grow(10)

        assert not Case.objects.exists()

    def test_a_size_below_one(self, db):
        with pytest.raises(CommandError, match="--cases must be at least 1"):
            grow(0)


class TestInsert:
    def test_it_names_the_not_null_columns_left_out(self):
        with pytest.raises(ValueError, match="legal_name.*name_key"):
            insert(Client, {"id": "1"}, "")


class TestNamePools:
    def test_every_name_is_one_word_so_its_sound_is_one_code(self):
        for name in (*FIRST_NAMES, *LAST_NAMES):
            assert len(name_tokens(name)) == 1, name

    def test_a_nickname_sounds_as_its_formal_name(self):
        assert nickname("William") == "Bill"
        assert nickname("Mary") == ""
        for first in FIRST_NAMES:
            if nick := nickname(first):
                assert phonetic_key(first) == phonetic_key(first, nick), first
