"""The worker's follow-up pages: the Today list, one follow-up and its actions, recording
the contact that completes a follow-up, and the client's reminder preference."""

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from cases import services as case_services
from cases.models import CallNature, Client, Contact, ReminderChannel
from followups import services
from followups.models import Attempt, FollowUp, FollowUpEventKind, Status
from followups.today import today_rows
from notifications import services as notices
from tests.conftest import HIGH_RISK, LOW_RISK, MODERATE_RISK
from tests.followups.factories import due_followup, ed_visit, make_case

TODAY_URL = reverse("followups:today")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
# Noon in Los Angeles (PDT), well away from midnight and from a DST change.
NOON = datetime.datetime(2026, 6, 10, 19, 0, tzinfo=datetime.UTC)
# 19:00 on 5 December in Los Angeles: already 6 December in UTC.
EVENING = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def at_noon(time_machine):
    time_machine.move_to(NOON)


def url(name, obj):
    return reverse(f"followups:{name}", args=[obj.pk])


def local(moment):
    """A datetime as the datetime-local inputs send it, in the agency's time zone."""
    return timezone.localtime(moment, LOS_ANGELES).strftime("%Y-%m-%dT%H:%M")


def row_ids(response):
    return [int(pk) for pk in re.findall(r'data-followup="(\d+)"', response.content.decode())]


def section(response, name):
    """The follow-up ids in one section of the Today list (today-due, -coming, -missed)."""
    html = response.content.decode()
    match = re.search(rf'<ul class="list-group mb-3" id="today-{name}">(.*?)</ul>', html, re.S)
    return [int(pk) for pk in re.findall(r'data-followup="(\d+)"', match.group(1))] if match else []


def denied_rows(object_type, object_id):
    return AuditEvent.objects.filter(
        action=Action.DENIED, object_type=object_type, object_id=str(object_id)
    )


class TestToday:
    def test_due_followups_come_by_risk_then_by_the_window_that_closes_first(self, login, alice):
        low = make_case(alice, **LOW_RISK)
        moderate = make_case(alice, **MODERATE_RISK)
        hours = datetime.timedelta(hours=1)
        low_soonest = due_followup(low, due_in=hours, window_end=NOON + 2 * hours)
        moderate_later = due_followup(moderate, due_in=hours, window_end=NOON + 9 * hours)
        moderate_sooner = due_followup(moderate, due_in=hours, window_end=NOON + 5 * hours)
        response = login(alice).get(TODAY_URL)
        assert response.status_code == 200
        assert section(response, "due") == [moderate_sooner.pk, moderate_later.pk, low_soonest.pk]

    def test_a_row_says_why_how_when_and_what_was_tried(self, login, alice):
        case = make_case(alice, legal_name="Robin Vale")
        fu = due_followup(
            case,
            due_in=datetime.timedelta(hours=3),
            window_end=NOON + datetime.timedelta(days=2, hours=1),
            reason="Check the new medication",
        )
        services.log_attempt(actor=alice, followup=fu, outcome="left_message")
        html = login(alice).get(TODAY_URL).content.decode()
        assert "Robin Vale" in html
        assert reverse("casework:case_detail", args=[case.pk]) in html
        assert "Why: Check the new medication" in html
        assert "Phone call" in html
        # 15:00 in Los Angeles (22:00 UTC): the agency's time zone.
        assert "Due by <time" in html and "Wed 10 Jun 2026, 15:00" in html
        assert "window closes in 2\xa0days" in html
        assert "1 attempt, last: left a message" in html
        assert f"?followup={fu.pk}&amp;client={case.client_id}" in html

    def test_it_shows_only_my_followups_and_nothing_of_another_agency(
        self, login, alice, bob, carol
    ):
        mine = due_followup(make_case(alice))
        bobs = due_followup(make_case(bob))
        carols = due_followup(make_case(carol))
        response = login(alice).get(TODAY_URL)
        assert row_ids(response) == [mine.pk]
        assert bobs.pk not in row_ids(response) and carols.pk not in row_ids(response)
        event = AuditEvent.objects.filter(action=Action.LIST, object_type="followup").last()
        assert event.detail["ids"] == [mine.pk]
        assert event.detail["client_ids"] == [mine.case.client_id]

    def test_coming_up_and_missed_recently_are_shown_apart(self, login, alice, time_machine):
        case = make_case(alice)
        missed = due_followup(case, due_in=datetime.timedelta(hours=1))
        time_machine.move_to(NOON + datetime.timedelta(days=1))
        # Missed by time even before the sweeper marks it so.
        coming = due_followup(case, due_in=datetime.timedelta(hours=30))
        FollowUp.objects.filter(pk=coming.pk).update(
            window_start=timezone.now() + datetime.timedelta(hours=20)
        )
        later = due_followup(case, due_in=datetime.timedelta(days=5))
        FollowUp.objects.filter(pk=later.pk).update(
            window_start=timezone.now() + datetime.timedelta(days=4)
        )
        response = login(alice).get(TODAY_URL)
        assert section(response, "due") == []
        assert section(response, "coming") == [coming.pk]
        assert section(response, "missed") == [missed.pk]
        assert later.pk not in row_ids(response)

    def test_queries_do_not_grow_with_the_rows(
        self, login, alice, bob, django_assert_max_num_queries
    ):
        client = login(alice)
        case = make_case(alice)
        for _ in range(2):
            services.log_attempt(actor=alice, followup=due_followup(case), outcome="no_answer")
        with django_assert_max_num_queries(9):
            assert len(row_ids(client.get(TODAY_URL))) == 2
        for _ in range(3):
            other = make_case(alice)
            for _ in range(3):
                services.log_attempt(actor=alice, followup=due_followup(other), outcome="no_answer")
        with django_assert_max_num_queries(9):
            assert len(row_ids(client.get(TODAY_URL))) == 11

    def test_the_page_lists_what_today_rows_returns_in_one_query(
        self, login, alice, bob, carol, django_assert_num_queries
    ):
        low = make_case(alice, **LOW_RISK)
        moderate = make_case(alice, **MODERATE_RISK)
        rows = [due_followup(low), due_followup(moderate), due_followup(moderate)]
        services.log_attempt(actor=alice, followup=rows[1], outcome="no_answer")
        later = due_followup(low, due_in=datetime.timedelta(days=5))
        FollowUp.objects.filter(pk=later.pk).update(window_start=NOON + datetime.timedelta(days=4))
        due_followup(make_case(bob))
        due_followup(make_case(carol))
        with django_assert_num_queries(1):
            listed = [
                (fu.pk, fu.case.client.legal_name, fu.attempt_count, fu.can_work)
                for fu in today_rows(alice, timezone.now())
            ]
        assert [pk for pk, *_ in listed] == [rows[1].pk, rows[2].pk, rows[0].pk]
        assert [count for _, _, count, _ in listed] == [1, 0, 0]
        assert all(can_work for *_, can_work in listed)
        assert section(login(alice).get(TODAY_URL), "due") == [pk for pk, *_ in listed]

    def test_supervisors_see_their_own_and_the_way_to_compliance(self, login, sam, alice):
        case = make_case(alice)
        theirs = due_followup(case, actor=sam, assigned_to=sam)
        due_followup(case)
        response = login(sam).get(TODAY_URL)
        assert row_ids(response) == [theirs.pk]
        assert reverse("metrics:compliance") in response.content.decode()

    def test_workers_do_not_get_the_compliance_link(self, login, alice):
        assert reverse("metrics:compliance") not in login(alice).get(TODAY_URL).content.decode()

    @pytest.mark.parametrize("persona", ["dana", "root"])
    def test_people_without_a_caseload_are_refused(self, login, persona, request):
        assert login(request.getfixturevalue(persona)).get(TODAY_URL).status_code == 403


class TestLogAttemptFromToday:
    def post(self, client, fu, **data):
        return client.post(url("attempt", fu), data, HTTP_HX_REQUEST="true")

    def test_no_answer_logs_the_attempt_and_returns_the_updated_row(self, login, alice):
        fu = due_followup(make_case(alice))
        response = self.post(login(alice), fu, outcome="no_answer", note="Rang twice")
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith(f'<li class="list-group-item followup-row" id="fu-{fu.pk}"')
        assert "1 attempt, last: no answer" in html
        assert "Log attempt: what happened" in html
        attempt = Attempt.objects.get(followup=fu)
        assert (attempt.outcome, attempt.note, attempt.by) == ("no_answer", "Rang twice", alice)
        fu.refresh_from_db()
        assert fu.status == Status.DUE

    def test_reached_completes_it(self, login, alice):
        fu = due_followup(make_case(alice))
        html = self.post(login(alice), fu, outcome="reached").content.decode()
        fu.refresh_from_db()
        assert (fu.status, fu.completed_by) == (Status.COMPLETED, alice)
        assert "Completed" in html
        assert "Log attempt: what happened" not in html

    def test_a_bad_outcome_is_shown_on_the_row(self, login, alice):
        fu = due_followup(make_case(alice))
        response = self.post(login(alice), fu, outcome="teleported")
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
        assert not Attempt.objects.filter(followup=fu).exists()

    def test_a_completed_one_takes_no_more_attempts(self, login, alice):
        fu = due_followup(make_case(alice))
        services.complete_followup(actor=alice, followup=fu)
        html = self.post(login(alice), fu, outcome="no_answer").content.decode()
        assert "already completed" in html
        assert not Attempt.objects.filter(followup=fu).exists()

    def test_without_htmx_it_goes_to_the_followup(self, login, alice):
        fu = due_followup(make_case(alice))
        response = login(alice).post(url("attempt", fu), {"outcome": "declined"})
        assert response.status_code == 302
        assert response.url == url("detail", fu)


def row_html(response, fu):
    """The Today row of `fu` in a page or an htmx answer."""
    html = response.content.decode()
    match = re.search(rf'<li [^>]*id="fu-{fu.pk}".*?</li>', html, re.S)
    return match.group(0) if match else ""


def undo_url(fu, attempt):
    return reverse("followups:undo_attempt", args=[fu.pk, attempt.pk])


class TestReachedOnToday:
    """Reaching a client on a high-risk or Safety Planning call asks for its note on the
    card; every one-tap outcome can be undone for a few seconds; the counts follow."""

    @pytest.fixture(autouse=True)
    def evening(self, time_machine):
        # The UTC date (6 Dec) and the agency's (5 Dec, 19:00) differ.
        time_machine.move_to(EVENING, tick=False)

    def post(self, client, target, **data):
        return client.post(target, data, HTTP_HX_REQUEST="true")

    def test_a_high_risk_card_asks_for_the_note_a_plain_one_reaches_in_one_tap(self, login, alice):
        high = due_followup(make_case(alice, **HIGH_RISK))
        plain = due_followup(make_case(alice, **LOW_RISK))
        page = login(alice).get(TODAY_URL)

        high_row, plain_row = row_html(page, high), row_html(page, plain)
        assert 'name="outcome" value="reached"' not in high_row.split('id="reached-')[0]
        assert f'data-bs-target="#reached-{high.pk}"' in high_row
        assert re.search(r"<textarea[^>]*name=\"note\"[^>]*required", high_row)
        assert 'name="outcome" value="reached" class="btn btn-success' in plain_row
        assert 'id="reached-' not in plain_row

    def test_reached_without_the_note_keeps_it_open_with_the_form_shown(self, login, alice):
        fu = due_followup(make_case(alice, **HIGH_RISK))
        response = self.post(login(alice), url("attempt", fu), outcome="reached", note="  ")

        assert response.status_code == 200
        row = row_html(response, fu)
        assert "Write a short note for this call" in row
        assert f'class="collapse show mt-2 reached-form" id="reached-{fu.pk}"' in row
        fu.refresh_from_db()
        assert fu.status == Status.DUE and not fu.attempts.exists()

    def test_reached_with_the_note_is_done_and_offers_undo(self, login, alice):
        fu = due_followup(make_case(alice, **HIGH_RISK))
        response = self.post(
            login(alice), url("attempt", fu), outcome="reached", note="Safe, plan reviewed"
        )

        attempt = Attempt.objects.get(followup=fu)
        assert attempt.note == "Safe, plan reviewed"
        row = row_html(response, fu)
        assert "Logged: reached" in row
        assert f'data-expires-in="{services.UNDO_SHOWN_SECONDS}"' in row
        assert f'hx-post="{undo_url(fu, attempt)}"' in row
        assert FollowUp.objects.get(pk=fu.pk).status == Status.COMPLETED

    def test_undo_on_the_card_restores_it_and_the_counts(self, login, alice):
        case = make_case(alice)
        fu = due_followup(case, due_in=-datetime.timedelta(hours=1))
        due_followup(case)
        client = login(alice)
        self.post(client, url("attempt", fu), outcome="reached")
        attempt = Attempt.objects.get(followup=fu)

        response = self.post(client, undo_url(fu, attempt))

        assert response.status_code == 200
        row = row_html(response, fu)
        assert "Undone." in row and "No attempts yet" in row
        assert "Log attempt: what happened" in row
        assert FollowUp.objects.get(pk=fu.pk).status == Status.OVERDUE
        html = response.content.decode()
        assert 'id="today-due-count" hx-swap-oob="true">2<' in html
        assert 'id="today-overdue-count" hx-swap-oob="true">1 overdue<' in html

    def test_the_counts_and_the_inbox_count_follow_without_a_reload(self, login, alice):
        case = make_case(alice)
        late = due_followup(case, due_in=-datetime.timedelta(hours=1))
        other = due_followup(case)
        notices.followup_overdue(late)
        notices.followup_fell_due(other)
        page = login(alice).get(TODAY_URL).content.decode()
        assert 'id="today-due-count">2<' in page
        assert 'id="today-overdue-count">1 overdue<' in page

        response = self.post(login(alice), url("attempt", late), outcome="reached")

        html = response.content.decode()
        assert 'id="today-due-count" hx-swap-oob="true">1<' in html
        assert 'd-none" id="today-overdue-count" hx-swap-oob="true">0 overdue<' in html
        assert 'id="today-coming-count" hx-swap-oob="true">0<' in html
        inbox = reverse("notifications:inbox")
        assert re.search(
            rf"<a class=\"nav-link\" href=\"{inbox}\" hx-swap-oob=[^>]*>Inbox "
            r'<span class="badge text-bg-danger">1</span></a>',
            html,
        )

    def test_a_late_undo_is_refused_on_the_card(self, login, alice, time_machine):
        fu = due_followup(make_case(alice))
        client = login(alice)
        self.post(client, url("attempt", fu), outcome="no_answer")
        attempt = Attempt.objects.get(followup=fu)
        time_machine.move_to(EVENING + services.UNDO_WINDOW + datetime.timedelta(seconds=1))

        response = self.post(client, undo_url(fu, attempt))

        assert response.status_code == 200
        assert "too late to undo" in row_html(response, fu)
        assert fu.attempts.count() == 1

    def test_undo_without_htmx_goes_to_the_followup(self, login, alice):
        fu = due_followup(make_case(alice))
        attempt = services.log_attempt(actor=alice, followup=fu, outcome="no_answer")
        response = login(alice).post(undo_url(fu, attempt))
        assert (response.status_code, response.url) == (302, url("detail", fu))
        assert not fu.attempts.exists()

    @pytest.mark.parametrize("attempt_pk", [0, 2**63, 2**70])
    def test_an_attempt_that_is_not_this_followups_is_a_message(self, login, alice, attempt_pk):
        fu = due_followup(make_case(alice))
        elsewhere = due_followup(make_case(alice))
        theirs = services.log_attempt(actor=alice, followup=elsewhere, outcome="no_answer")
        client = login(alice)
        for pk in (attempt_pk, theirs.pk):
            target = reverse("followups:undo_attempt", args=[fu.pk, pk])
            response = self.post(client, target)
            assert response.status_code == 200
            assert "Nothing to undo" in response.content.decode()
        assert elsewhere.attempts.count() == 1

    def test_another_agency_or_a_read_only_user_cannot_undo(self, login, alice, carol, dana):
        fu = due_followup(make_case(carol))
        attempt = services.log_attempt(actor=carol, followup=fu, outcome="no_answer")
        assert self.post(login(alice), undo_url(fu, attempt)).status_code == 404
        mine = due_followup(make_case(alice))
        mine_attempt = services.log_attempt(actor=alice, followup=mine, outcome="no_answer")
        assert self.post(login(dana), undo_url(mine, mine_attempt)).status_code == 403
        assert fu.attempts.count() == mine.attempts.count() == 1

    def test_each_card_has_the_clients_phone_to_tap(self, login, alice):
        with_phone = make_case(alice)
        without = make_case(alice)
        case_services.update_client(actor=alice, client=without.client, data={"phone": ""})
        a, b = due_followup(with_phone), due_followup(without)
        page = login(alice).get(TODAY_URL)
        digits = with_phone.client.phone_normalized
        assert digits and f'href="tel:{digits}"' in row_html(page, a)
        assert 'href="tel:' not in row_html(page, b)

    def test_queries_stay_bounded_with_notes_phones_and_protocols(
        self, login, alice, django_assert_max_num_queries
    ):
        client = login(alice)
        for risk in (HIGH_RISK, MODERATE_RISK, LOW_RISK):
            due_followup(make_case(alice, **risk))
        with django_assert_max_num_queries(9):
            assert len(row_ids(client.get(TODAY_URL))) == 4  # and the high-risk SPI call
        for risk in (HIGH_RISK, MODERATE_RISK, LOW_RISK) * 3:
            due_followup(make_case(alice, **risk))
        with django_assert_max_num_queries(9):
            assert len(row_ids(client.get(TODAY_URL))) == 16

    def test_an_action_on_a_card_does_not_grow_with_the_list(
        self, login, alice, django_assert_max_num_queries
    ):
        """The row, the counts (one Today query) and the inbox count."""
        client = login(alice)
        case = make_case(alice, **HIGH_RISK)
        first, second = due_followup(case), due_followup(case)
        with django_assert_max_num_queries(18):
            self.post(client, url("attempt", first), outcome="no_answer")
        for _ in range(8):
            due_followup(make_case(alice, **HIGH_RISK))
        with django_assert_max_num_queries(18):
            self.post(client, url("attempt", second), outcome="no_answer")


class TestRecordContactCompletesIt:
    def form(self, fu, **overrides):
        received = timezone.now() - datetime.timedelta(minutes=30)
        data = {
            "client": fu.case.client_id,
            "followup": fu.pk,
            "source": "phone",
            "received_at": local(received),
            "call_nature": CallNature.objects.get(code="welfare-check").pk,
            "disposition": "referred",
            "narrative": "Follow-up call: doing better, has an appointment on Friday.",
        }
        data.update(overrides)
        return data

    def test_the_new_contact_form_keeps_the_followup_and_preselects_the_client(self, login, alice):
        fu = due_followup(make_case(alice, legal_name="Robin Vale"))
        response = login(alice).get(
            reverse("casework:contact_new"), {"followup": fu.pk, "client": fu.case.client_id}
        )
        html = response.content.decode()
        assert f'name="followup" value="{fu.pk}"' in html
        assert "Saving this contact completes the follow-up" in html
        assert f'name="client" value="{fu.case.client_id}"' in html

    def test_saving_the_contact_completes_the_followup(self, login, alice):
        fu = due_followup(make_case(alice))
        response = login(alice).post(reverse("casework:contact_new"), self.form(fu))
        assert response.status_code == 302, response.content.decode()[:3000]
        contact = Contact.objects.get(narrative__startswith="Follow-up call")
        fu.refresh_from_db()
        assert (fu.status, fu.completed_contact, fu.completed_by) == (
            Status.COMPLETED,
            contact,
            alice,
        )
        assert fu.completed_at == contact.received_at

    def test_a_followup_done_on_scene_schedules_no_new_post_crisis_check(self, login, alice):
        fu = due_followup(make_case(alice))
        data = self.form(fu, disposition="resolved")
        assert login(alice).post(reverse("casework:contact_new"), data).status_code == 302
        fu.refresh_from_db()
        assert fu.status == Status.COMPLETED
        # The follow-up was the check; a crisis contact resolved on scene would start one.
        assert not FollowUp.objects.filter(
            case=fu.case, enrolment__trigger="resolved_on_scene"
        ).exists()

    def test_a_followup_of_another_client_is_a_form_error(self, login, alice):
        fu = due_followup(make_case(alice))
        other = make_case(alice)
        response = login(alice).post(
            reverse("casework:contact_new"), self.form(fu, client=other.client_id)
        )
        assert response.status_code == 200
        assert "That follow-up is for another client." in response.content.decode()
        assert not Contact.objects.filter(narrative__startswith="Follow-up call").exists()
        fu.refresh_from_db()
        assert fu.status == Status.DUE

    def test_a_followup_of_another_agency_is_a_form_error_and_audited(self, login, alice, carol):
        carols = due_followup(make_case(carol))
        fu = due_followup(make_case(alice))
        response = login(alice).post(
            reverse("casework:contact_new"), self.form(fu, followup=carols.pk)
        )
        assert response.status_code == 200
        assert "That follow-up was not found" in response.content.decode()
        assert not Contact.objects.filter(narrative__startswith="Follow-up call").exists()
        assert denied_rows("followup", carols.pk).exists()
        carols.refresh_from_db()
        assert carols.status == Status.DUE

    def test_asking_for_another_agencys_followup_is_404(self, login, alice, carol):
        carols = due_followup(make_case(carol))
        response = login(alice).get(reverse("casework:contact_new"), {"followup": carols.pk})
        assert response.status_code == 404
        assert denied_rows("followup", carols.pk).exists()

    def test_a_done_followup_is_a_form_error(self, login, alice):
        fu = due_followup(make_case(alice))
        services.complete_followup(actor=alice, followup=fu)
        response = login(alice).post(reverse("casework:contact_new"), self.form(fu))
        assert "That follow-up is already completed." in response.content.decode()

    @pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999999", "1.5", "a\x00b"])
    def test_garbage_is_a_form_error(self, login, alice, value):
        fu = due_followup(make_case(alice))
        response = login(alice).post(reverse("casework:contact_new"), self.form(fu, followup=value))
        assert response.status_code == 200
        assert 'id="form-errors"' in response.content.decode()
        assert not Contact.objects.filter(narrative__startswith="Follow-up call").exists()
        fu.refresh_from_db()
        assert fu.status == Status.DUE


class TestFollowUpPage:
    def test_it_shows_why_when_attempts_and_history_and_audits_the_read(self, login, alice):
        fu = due_followup(make_case(alice), reason="Check on sleep")
        services.log_attempt(actor=alice, followup=fu, outcome="wrong_number", note="Old phone")
        response = login(alice).get(url("detail", fu))
        html = response.content.decode()
        assert response.status_code == 200
        assert "Check on sleep" in html
        assert "Wrong number" in html and "Old phone" in html
        assert "Attempt logged" in html
        assert AuditEvent.objects.filter(
            action=Action.VIEW, object_type="followup", object_id=str(fu.pk)
        ).exists()

    def test_a_protocol_followup_names_its_protocol_version_step_and_anchor(self, login, alice):
        case = make_case(alice, disposition="resolved")
        fu = FollowUp.objects.filter(case=case).select_related("enrolment__version").first()
        html = login(alice).get(url("detail", fu)).content.decode()
        assert fu.enrolment.version.protocol.name in html
        assert f"(version {fu.enrolment.version.number})" in html
        assert fu.step.name in html
        assert "Counted from" in html

    def test_moving_the_due_date_keeps_the_old_one_the_reason_and_who(self, login, alice):
        fu = due_followup(make_case(alice))
        old_due = fu.due_at
        new_due = NOON + datetime.timedelta(days=3)
        client = login(alice)
        response = client.post(
            url("move", fu), {"due_at": local(new_due), "reason": "Client is travelling"}
        )
        assert response.status_code == 302
        fu.refresh_from_db()
        assert fu.due_at == new_due
        event = fu.events.get(kind=FollowUpEventKind.RESCHEDULED)
        assert (event.actor, event.reason) == (alice, "Client is travelling")
        assert event.detail["from"]["due_at"] == old_due.isoformat()
        html = client.get(url("detail", fu)).content.decode()
        old_local = timezone.localtime(old_due, LOS_ANGELES).strftime("%a %-d %b %Y, %H:%M")
        assert f"{old_local} → Sat 13 Jun 2026, 12:00" in html
        assert "Client is travelling" in html

    def test_moving_needs_a_reason_and_a_sane_date(self, login, alice):
        fu = due_followup(make_case(alice))
        client = login(alice)
        response = client.post(url("move", fu), {"due_at": local(NOON), "reason": " "})
        assert response.status_code == 200
        assert "Give a reason." in response.content.decode()
        past = NOON - datetime.timedelta(days=10)
        response = client.post(url("move", fu), {"due_at": local(past), "reason": "Oops"})
        assert "cannot be due in the past" in response.content.decode()
        response = client.post(url("move", fu), {"due_at": "2026-13-45T99:99", "reason": "x"})
        assert response.status_code == 200
        assert not fu.events.filter(kind=FollowUpEventKind.RESCHEDULED).exists()

    def test_cancelling_needs_a_reason(self, login, alice):
        fu = due_followup(make_case(alice))
        client = login(alice)
        response = client.post(url("cancel", fu), {"reason": ""})
        assert response.status_code == 200
        assert "Give a reason." in response.content.decode()
        fu.refresh_from_db()
        assert fu.status == Status.DUE
        response = client.post(url("cancel", fu), {"reason": "Duplicate of the call on Friday"})
        assert response.status_code == 302
        fu.refresh_from_db()
        assert (fu.status, fu.cancel_reason) == (
            Status.CANCELLED,
            "Duplicate of the call on Friday",
        )

    def test_marking_done_with_a_note(self, login, alice):
        fu = due_followup(make_case(alice))
        response = login(alice).post(
            url("complete", fu), {"note": "Met at the clinic", "confirm": "True"}
        )
        assert response.status_code == 302
        fu.refresh_from_db()
        assert (fu.status, fu.completed_by) == (Status.COMPLETED, alice)
        assert fu.events.get(kind=FollowUpEventKind.STATUS).reason == "Met at the clinic"


class TestMarkDoneNeedsANote:
    def test_a_high_risk_call_says_its_note_is_required_and_is_not_done_without(self, login, alice):
        fu = due_followup(make_case(alice, **HIGH_RISK))
        client = login(alice)
        assert "Required for this call" in client.get(url("detail", fu)).content.decode()

        response = client.post(url("complete", fu), {"note": "", "confirm": "True"})

        assert response.status_code == 200
        assert "Write a short note for this call" in response.content.decode()
        assert FollowUp.objects.get(pk=fu.pk).status == Status.DUE
        client.post(url("complete", fu), {"note": "Safe; plan reviewed", "confirm": "True"})
        assert FollowUp.objects.get(pk=fu.pk).status == Status.COMPLETED


class TestPermissions:
    ACTIONS = [
        ("attempt", {"outcome": "no_answer"}),
        ("complete", {"note": ""}),
        ("move", {"due_at": "2026-06-12T10:00", "reason": "x"}),
        ("cancel", {"reason": "x"}),
    ]

    @pytest.mark.parametrize("name, data", ACTIONS)
    def test_another_agencys_followup_is_404_and_audited(self, login, alice, carol, name, data):
        fu = due_followup(make_case(carol))
        client = login(alice)
        assert client.get(url("detail", fu)).status_code == 404
        assert client.post(url(name, fu), data).status_code == 404
        assert denied_rows("followup", fu.pk).count() == 2
        fu.refresh_from_db()
        assert fu.status == Status.DUE and not fu.attempts.exists()

    def test_another_teams_followup_is_404(self, login, alice, erin):
        fu = due_followup(make_case(erin))
        assert login(alice).get(url("detail", fu)).status_code == 404

    @pytest.mark.parametrize("name, data", ACTIONS)
    def test_an_agency_admin_may_read_but_not_change(self, login, dana, alice, name, data):
        fu = due_followup(make_case(alice))
        client = login(dana)
        response = client.get(url("detail", fu))
        assert response.status_code == 200
        assert "Log an attempt" not in response.content.decode()
        assert client.post(url(name, fu), data).status_code == 403
        assert denied_rows("followup", fu.pk).get().detail["reason"] == "read only"
        fu.refresh_from_db()
        assert fu.status == Status.DUE and not fu.attempts.exists()

    def test_a_teammate_may_work_it(self, login, alice, bob):
        fu = due_followup(make_case(alice))
        response = login(bob).post(url("attempt", fu), {"outcome": "reached"})
        assert response.status_code == 302
        fu.refresh_from_db()
        assert fu.status == Status.COMPLETED

    def test_login_is_required(self, client, alice):
        fu = due_followup(make_case(alice))
        for target in (TODAY_URL, url("detail", fu)):
            response = client.get(target)
            assert response.status_code == 302 and "/accounts/login/" in response.url


class TestClientReminderFields:
    def edit(self, client, case, **overrides):
        person = case.client
        data = {
            "legal_name": person.legal_name,
            "date_of_birth": person.date_of_birth.isoformat(),
            "phone": person.phone,
            "email": "",
            "reminder_channel": "",
        }
        data.update(overrides)
        return client.post(reverse("cases:client_edit", args=[person.pk]), data)

    def test_email_reminders_need_an_email(self, login, alice):
        case = make_case(alice)
        response = self.edit(login(alice), case, reminder_channel="email")
        assert response.status_code == 200
        assert "Give the client&#x27;s email address for email reminders." in (
            response.content.decode()
        )

    def test_text_reminders_need_a_phone(self, login, alice):
        case = make_case(alice)
        response = self.edit(login(alice), case, reminder_channel="text", phone="")
        assert response.status_code == 200
        assert "Give the client&#x27;s phone number for text reminders." in (
            response.content.decode()
        )

    def test_a_bad_channel_or_email_is_a_form_error(self, login, alice):
        case = make_case(alice)
        client = login(alice)
        assert "Select a valid choice" in (
            self.edit(client, case, reminder_channel="pigeon").content.decode()
        )
        assert "Enter a valid email address." in (
            self.edit(client, case, email="not-an-email", reminder_channel="email").content.decode()
        )

    def test_the_preference_is_saved_and_shown(self, login, alice):
        case = make_case(alice)
        client = login(alice)
        response = self.edit(client, case, email="robin@example.org", reminder_channel="email")
        assert response.status_code == 302
        person = Client.objects.get(pk=case.client_id)
        assert (person.email, person.reminder_channel) == (
            "robin@example.org",
            ReminderChannel.EMAIL,
        )
        html = client.get(reverse("cases:client_detail", args=[person.pk])).content.decode()
        assert "robin@example.org" in html
        assert '<dd class="col-7" id="reminder-channel">Email</dd>' in html


class TestAdmin:
    """Follow-ups are client records: in the admin only an agency admin reads them, only
    her own agency's, nothing changes there, and each read is audited."""

    @pytest.fixture
    def dana_admin(self, client, dana):
        grant_agency_admin_permissions(user=dana)
        dana.refresh_from_db()
        client.force_login(dana)
        return client

    @pytest.mark.parametrize("model", ["followup", "attempt", "enrolment", "hospitalvisit"])
    def test_the_agency_admin_lists_only_her_agencys_rows_and_it_is_audited(
        self, dana_admin, alice, carol, model
    ):
        ours = due_followup(make_case(alice))
        services.log_attempt(actor=alice, followup=ours, outcome="no_answer")
        ed_visit(ours.case)
        theirs = due_followup(make_case(carol))
        services.log_attempt(actor=carol, followup=theirs, outcome="no_answer")
        ed_visit(theirs.case)
        response = dana_admin.get(f"/admin/followups/{model}/")
        assert response.status_code == 200
        shown = list(response.context["cl"].result_list)
        assert shown
        event = AuditEvent.objects.filter(action=Action.LIST, object_type=model).last()
        assert event.detail["client_ids"] == [ours.case.client_id]

    def test_a_followup_reads_but_cannot_change(self, dana_admin, alice):
        fu = due_followup(make_case(alice))
        assert dana_admin.get(f"/admin/followups/followup/{fu.pk}/change/").status_code == 200
        assert AuditEvent.objects.filter(
            action=Action.VIEW, object_type="followup", object_id=str(fu.pk)
        ).exists()
        dana_admin.post(f"/admin/followups/followup/{fu.pk}/change/", {"status": "cancelled"})
        fu.refresh_from_db()
        assert fu.status == Status.DUE
        assert dana_admin.get("/admin/followups/followup/add/").status_code == 403

    def test_the_system_admin_sees_no_client_data(self, client, root, alice):
        fu = due_followup(make_case(alice))
        client.force_login(root)
        assert client.get("/admin/followups/followup/").status_code == 403
        assert client.get(f"/admin/followups/followup/{fu.pk}/change/").status_code == 403
        assert client.get("/admin/followups/protocol/").status_code == 200


class TestResumeParked:
    """A follow-up the engine parked after repeated failures waits for a supervisor."""

    def parked(self, worker):
        fu = due_followup(make_case(worker))
        FollowUp.objects.filter(pk=fu.pk).update(
            parked_at=timezone.now(), next_check_at=timezone.now(), last_error="Broker refused"
        )
        return fu

    def test_the_page_says_it_stopped_and_sam_resumes_it(self, login, alice, sam):
        fu = self.parked(alice)
        as_alice = login(alice)
        html = as_alice.get(url("detail", fu)).content.decode()
        assert "Automatic processing stopped" in html
        assert "Broker refused" in html
        assert "Resume processing" not in html

        as_sam = login(sam)
        assert "Resume processing" in as_sam.get(url("detail", fu)).content.decode()
        response = as_sam.post(url("release", fu))
        assert response.status_code == 302
        fu.refresh_from_db()
        assert fu.parked_at is None
        assert fu.events.filter(kind=FollowUpEventKind.RELEASED, actor=sam).exists()
        assert AuditEvent.objects.filter(
            actor=sam, action=Action.UPDATE, object_type="followup", object_id=str(fu.pk)
        ).exists()

    def test_a_worker_cannot_resume_it(self, login, alice):
        fu = self.parked(alice)
        assert login(alice).post(url("release", fu)).status_code == 403
        fu.refresh_from_db()
        assert fu.parked_at is not None
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.DENIED, object_type="followup", object_id=str(fu.pk)
        ).exists()

    def test_another_agency_gets_nothing(self, login, alice, carol):
        fu = self.parked(alice)
        assert login(carol).post(url("release", fu)).status_code == 404
        fu.refresh_from_db()
        assert fu.parked_at is not None
