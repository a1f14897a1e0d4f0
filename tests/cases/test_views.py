"""The worker's pages other than the new-contact form: caseload, case, contact and its
amendments, client search and details, emergency access."""

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import dateformat, timezone

from audit.models import Action, AuditEvent
from cases import services
from cases.cssrs import RiskLevel
from cases.models import Case, CaseStatus, Concern, EmergencyAccess
from followups.models import OPEN_STATUSES
from tests.cases.factories import CaseFactory, ClientFactory
from tests.conftest import HIGH_RISK, MODERATE_RISK, new_client

CASELOAD_URL = reverse("casework:caseload")
SEARCH_URL = reverse("cases:client_search")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


def case_url(name, case, *args):
    return reverse(f"casework:{name}", args=[case.pk, *args])


def caseload_names(response):
    return re.findall(r'class="fw-semibold client-name">([^<]+)<', response.content.decode())


def make_cases(worker, count):
    concern = Concern.objects.get(code="housing")
    for _ in range(count):
        case = CaseFactory(
            client=ClientFactory(agency=worker.agency),
            assigned_worker=worker,
            risk_level=RiskLevel.LOW,
        )
        case.presenting_concerns.add(concern)


class TestCaseload:
    def test_it_lists_my_open_cases_then_my_teams(
        self, login, alice, alice_case, bob_case, erin_case, carol_case
    ):
        response = login(alice).get(CASELOAD_URL)

        assert response.status_code == 200
        assert caseload_names(response) == ["Alice Client", "Bob Client"]
        page = response.content.decode()
        assert "Assigned to me" in page and "My team" in page
        assert "Erin Client" not in page and "Carol Client" not in page

    def test_rows_show_risk_concerns_last_contact_days_open_and_next_due(
        self, login, alice, record_contact_for
    ):
        case = record_contact_for(
            alice,
            received_at=timezone.now() - datetime.timedelta(days=3),
            presenting_concerns=[Concern.objects.get(code="substance-use")],
            **HIGH_RISK,
        ).case

        page = login(alice).get(CASELOAD_URL).content.decode()

        row = page[page.index(f'data-case="{case.pk}"') :]
        row = row[: row.index("</a>")]
        assert '<span class="badge risk-badge risk-high">High</span>' in row
        assert "Substance use" in row
        assert "3\xa0days ago" in row
        assert re.search(r"</span>3<span[^>]*> days</span>", row)
        # The high-risk screen enrolled the client in the Safety Planning calls: the row
        # shows the earliest open follow-up's due time, in the agency's time zone.
        nxt = case.followups.filter(status__in=OPEN_STATUSES).order_by("due_at").first()
        shown = dateformat.format(nxt.due_at.astimezone(LOS_ANGELES), "D j M Y, H:i")
        assert "Next due </span><span" in row
        assert shown in row

    def test_a_case_without_follow_ups_shows_no_next_due(self, login, alice):
        make_cases(alice, 1)

        page = login(alice).get(CASELOAD_URL).content.decode()

        assert "Next due </span>—" in page

    def test_highest_risk_first_then_longest_since_contact(self, login, alice, record_contact_for):
        now = timezone.now()

        def contact(name, hours_ago, **screen):
            record_contact_for(
                alice,
                new_client_data=new_client(legal_name=name, phone="", date_of_birth=None),
                received_at=now - datetime.timedelta(hours=hours_ago),
                **screen,
            )

        contact("Recent high", 1, **HIGH_RISK)
        contact("Old high", 30, **HIGH_RISK)
        contact("Moderate", 50, **MODERATE_RISK)
        contact("Unscreened", 90)

        names = caseload_names(login(alice).get(CASELOAD_URL))

        assert names == ["Old high", "Recent high", "Moderate", "Unscreened"]

    def test_mine_and_team_filters(self, login, alice, alice_case, bob_case):
        client = login(alice)
        assert caseload_names(client.get(CASELOAD_URL, {"show": "mine"})) == ["Alice Client"]
        assert caseload_names(client.get(CASELOAD_URL, {"show": "team"})) == ["Bob Client"]
        assert len(caseload_names(client.get(CASELOAD_URL, {"show": "nonsense"}))) == 2

    def test_closed_cases_are_not_on_it(self, login, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        assert caseload_names(login(alice).get(CASELOAD_URL)) == []

    def test_a_supervisor_sees_their_teams_cases(self, login, sam, alice_case, erin_case):
        assert caseload_names(login(sam).get(CASELOAD_URL)) == ["Alice Client"]

    def test_it_is_audited_with_the_ids_shown(self, login, alice, alice_case, bob_case):
        login(alice).get(CASELOAD_URL)
        event = AuditEvent.objects.get(actor=alice, action=Action.LIST)
        assert event.object_type == "case"
        assert sorted(event.detail["ids"]) == sorted([alice_case.pk, bob_case.pk])
        assert sorted(event.detail["client_ids"]) == sorted(
            [alice_case.client_id, bob_case.client_id]
        )

    def test_queries_do_not_grow_with_the_number_of_cases(
        self, login, alice, bob, django_assert_max_num_queries
    ):
        client = login(alice)
        make_cases(alice, 2)
        make_cases(bob, 1)
        # +1: the inbox count in the nav; +1: the next follow-up due of the rows; each
        # section is a page with its concerns (2 + 2), both counted in one query.
        with django_assert_max_num_queries(14):
            assert len(caseload_names(client.get(CASELOAD_URL))) == 3
        make_cases(alice, 8)
        make_cases(bob, 4)
        with django_assert_max_num_queries(14):
            assert len(caseload_names(client.get(CASELOAD_URL))) == 15

    def test_the_teams_cases_come_25_to_a_page_with_their_own_pager(
        self, login, alice, bob, django_assert_max_num_queries
    ):
        make_cases(alice, 3)
        make_cases(bob, 30)
        client = login(alice)

        first = client.get(CASELOAD_URL)
        page = first.content.decode()
        assert len(caseload_names(first)) == 3 + 25
        assert '<span class="badge text-bg-secondary">30</span>' in page
        assert "1–25 of 30" in page and "?team_page=2" in page
        assert "Pages of my cases" not in page

        with django_assert_max_num_queries(14):
            second = client.get(CASELOAD_URL, {"team_page": 2})
        assert len(caseload_names(second)) == 3 + 5
        assert "26–30 of 30" in second.content.decode()
        shown = set(caseload_names(first)[3:]) | set(caseload_names(second)[3:])
        assert len(shown) == 30
        # Only what was shown is audited as read.
        last = AuditEvent.objects.filter(actor=alice, action=Action.LIST).latest("pk")
        assert len(last.detail["ids"]) == 8

    def test_my_cases_come_50_to_a_page(self, login, alice):
        make_cases(alice, 52)
        client = login(alice)

        first = client.get(CASELOAD_URL)
        assert len(caseload_names(first)) == 50
        assert "1–50 of 52" in first.content.decode()
        second = client.get(CASELOAD_URL, {"mine_page": 2})
        assert len(caseload_names(second)) == 2
        assert len(set(caseload_names(first)) | set(caseload_names(second))) == 52

    def test_a_page_past_the_end_shows_the_last(self, login, alice, bob):
        make_cases(bob, 30)
        response = login(alice).get(CASELOAD_URL, {"team_page": 9, "mine_page": "x"})
        assert response.status_code == 200
        assert len(caseload_names(response)) == 5

    def test_agency_admins_go_to_the_agency_case_list(self, login, dana):
        response = login(dana).get(CASELOAD_URL)
        assert response.status_code == 302
        assert response.url == reverse("supervision:case_list")

    def test_system_admins_go_to_the_admin(self, login, root):
        response = login(root).get(CASELOAD_URL)
        assert response.status_code == 302
        assert response.url == reverse("admin:index")


class TestCasePage:
    def test_it_shows_the_client_the_case_and_the_timeline(
        self, login, alice, bob, alice_case, record_contact_for
    ):
        second = record_contact_for(bob, client=alice_case.client, **HIGH_RISK)
        services.update_client(actor=alice, client=alice_case.client, data={"pronouns": "she/her"})

        response = login(alice).get(case_url("case_detail", alice_case))

        assert response.status_code == 200
        page = response.content.decode()
        for text in ("Alice Client", "she/her", "541-555-0100", "Open", "High", "Mobile crisis 1"):
            assert text in page
        summaries = [event.summary for event in response.context["events"]]
        assert summaries[0] == "Client details changed: pronouns"
        assert summaries[-1].startswith("Case opened for Alice Client")
        assert reverse("cases:contact_detail", args=[second.pk]) in page
        assert f'href="{reverse("casework:contact_new")}?client={alice_case.client_id}"' in page
        assert "Close case" in page
        assert "Reassign" not in page

    def test_it_marks_an_estimated_age(self, login, alice, record_contact_for):
        case = record_contact_for(
            alice, new_client_data=new_client(date_of_birth=None, estimated_age=35)
        ).case
        page = login(alice).get(case_url("case_detail", case)).content.decode()
        assert "About 35" in page
        assert "estimated" in page

    def test_a_supervisor_of_the_team_gets_the_reassign_link(self, login, sam, alice_case):
        page = login(sam).get(case_url("case_detail", alice_case)).content.decode()
        assert reverse("supervision:reassign_case", args=[alice_case.pk]) in page

    def test_an_agency_admin_reads_but_cannot_change(self, login, dana, alice_case):
        client = login(dana)
        page = client.get(case_url("case_detail", alice_case)).content.decode()
        assert "Close case" not in page
        assert "Change concerns" not in page
        response = client.post(case_url("case_close", alice_case), {"reason": "stabilised"})
        assert response.status_code == 403
        alice_case.refresh_from_db()
        assert alice_case.is_open

    def test_reading_it_is_audited_with_the_contacts_shown(self, login, alice, alice_case):
        login(alice).get(case_url("case_detail", alice_case))
        event = AuditEvent.objects.get(actor=alice, action=Action.VIEW, object_type="case")
        assert event.object_id == str(alice_case.pk)
        assert event.client_id == alice_case.client_id
        assert event.detail["contact_ids"] == [alice_case.contacts.get().pk]

    def test_queries_do_not_grow_with_the_history(
        self, login, alice, alice_case, record_contact_for, django_assert_max_num_queries
    ):
        client = login(alice)
        for _ in range(2):
            record_contact_for(alice, client=alice_case.client)
        # +1: the inbox count in the nav; +3: the follow-up sections (follow-ups with
        # their attempts, enrolments, hospital visits); +3: the plans (the safety plan,
        # its lethal-means steps, the crisis plans).
        with django_assert_max_num_queries(24):
            assert client.get(case_url("case_detail", alice_case)).status_code == 200
        for _ in range(10):
            record_contact_for(alice, client=alice_case.client, **HIGH_RISK)
        with django_assert_max_num_queries(24):
            assert client.get(case_url("case_detail", alice_case)).status_code == 200

    def test_a_writer_closes_the_case(self, login, bob, alice_case):
        response = login(bob).post(
            case_url("case_close", alice_case), {"reason": "connected", "note": "Has a therapist"}
        )
        assert response.status_code == 302
        alice_case.refresh_from_db()
        assert (alice_case.status, alice_case.close_reason, alice_case.closed_by) == (
            CaseStatus.CLOSED,
            "connected",
            bob,
        )

    def test_closing_without_a_reason_shows_the_error(self, login, alice, alice_case):
        response = login(alice).post(case_url("case_close", alice_case), {"note": "typed note"})
        assert response.status_code == 200
        assert "reason" in response.context["close_form"].errors
        assert "typed note" in response.content.decode()
        alice_case.refresh_from_db()
        assert alice_case.is_open

    def test_closing_a_closed_case_says_so(self, login, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = login(alice).post(
            case_url("case_close", alice_case), {"reason": "other"}, follow=True
        )
        assert "This case is already closed." in response.content.decode()

    def test_concerns_are_edited_by_writers(self, login, alice, alice_case):
        housing, medical = (Concern.objects.get(code=c) for c in ("housing", "medical"))
        response = login(alice).post(
            case_url("case_concerns", alice_case), {"concerns": [housing.pk, medical.pk]}
        )
        assert response.status_code == 302
        assert set(alice_case.presenting_concerns.all()) == {housing, medical}
        assert alice_case.events.filter(kind="concerns_changed").exists()


class TestContactPageAndAmendments:
    @pytest.fixture
    def contact(self, alice_case):
        return alice_case.contacts.get()

    def test_it_shows_the_contact_as_recorded(self, login, alice, record_contact_for):
        contact = record_contact_for(alice, **HIGH_RISK)
        response = login(alice).get(reverse("cases:contact_detail", args=[contact.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert '<dd class="col-7" id="response-time">15 min</dd>' in page
        assert "Have you been thinking about how you might do this?" in page
        assert "Not asked" in page  # 6b was skipped
        assert "Client calm after de-escalation." in page
        assert "Never amended" in page

    def current_values(self, client, contact):
        """The amend form as a browser would post it back untouched."""
        form = client.get(reverse("cases:contact_amend", args=[contact.pk])).context["form"]
        data = {}
        for name in form.fields:
            value = form[name].value()
            if hasattr(value, "strftime"):
                value = value.strftime("%Y-%m-%dT%H:%M")
            if value is True:
                value = "on"
            if value not in (None, False):
                data[name] = value
        return data

    def test_amending_keeps_the_original(self, login, alice, contact):
        client = login(alice)
        data = self.current_values(client, contact)
        data.update({"location": "6th and Main", "reason": "Wrong corner in the original note"})

        response = client.post(reverse("cases:contact_amend", args=[contact.pk]), data)

        assert response.status_code == 302
        contact.refresh_from_db()
        assert contact.location == "6th and Main"
        amendment = contact.amendments.get()
        # Times shown to the minute were not counted as changed.
        assert amendment.changes == {"location": {"from": "5th and Main", "to": "6th and Main"}}
        page = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
        assert "Wrong corner in the original note" in page
        assert "<del>5th and Main</del> → 6th and Main" in page
        assert "Amended 1×" in page

    def test_amended_times_are_shown_in_the_agency_time_zone(self, login, alice, contact):
        client = login(alice)
        data = self.current_values(client, contact)
        cleared = timezone.localtime(contact.cleared_at, LOS_ANGELES).replace(second=0)
        later = cleared + datetime.timedelta(minutes=30)
        data.update({"cleared_at": later.strftime("%Y-%m-%dT%H:%M"), "reason": "Left later"})

        assert (
            client.post(reverse("cases:contact_amend", args=[contact.pk]), data).status_code == 302
        )

        page = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
        shown = f"<del>{dateformat.format(cleared, 'D j M Y, H:i')}</del> → "
        shown += dateformat.format(later, "D j M Y, H:i")
        assert shown in page

    def test_amendment_errors_are_form_errors(self, login, alice, contact):
        url = reverse("cases:contact_amend", args=[contact.pk])
        client = login(alice)
        base = self.current_values(client, contact)
        base.pop("reason", None)

        missing_reason = client.post(url, base).context["form"]
        assert missing_reason.errors["reason"] == ["Say why the contact is being corrected."]

        nothing = client.post(url, {**base, "reason": "checking"}).context["form"]
        assert nothing.non_field_errors() == ["Nothing was changed."]

        bad_time = client.post(
            url, {**base, "reason": "fix", "cleared_at": "2000-01-01T00:00"}
        ).context["form"]
        assert bad_time.errors["cleared_at"] == ["The cleared time is before the received time."]
        assert not contact.amendments.exists()

    def test_the_screen_is_offered_with_the_current_answers(self, login, alice, record_contact_for):
        contact = record_contact_for(alice, **HIGH_RISK)

        response = login(alice).get(reverse("cases:contact_amend", args=[contact.pk]))

        form = response.context["form"]
        assert form["cssrs_performed"].value() is True
        assert form["cssrs_intent"].value() == "yes"
        assert form["cssrs_plan"].value() == "no"
        assert form["cssrs_behavior_recent"].value() is None
        page = response.content.decode()
        assert "Have you been thinking about how you might do this?" in page
        assert 'id="id_cssrs_intent_yes" value="yes" autocomplete="off" checked' in page
        assert 'id="id_cssrs_plan_no" value="no" autocomplete="off" checked' in page
        assert 'name="cssrs_performed" id="id_cssrs_performed" checked' in page
        assert "js/contact_form.js" in page

    def test_correcting_a_high_risk_screen_to_low_lowers_the_case_risk(
        self, login, alice, record_contact_for
    ):
        contact = record_contact_for(alice, **HIGH_RISK)
        case = contact.case
        assert case.risk_level == RiskLevel.HIGH
        client = login(alice)
        data = self.current_values(client, contact)
        for key in ("cssrs_method", "cssrs_intent", "cssrs_plan"):
            del data[key]
        data.update({"cssrs_suicidal_thoughts": "no", "reason": "Question 2 was mis-keyed"})

        response = client.post(reverse("cases:contact_amend", args=[contact.pk]), data)

        assert response.status_code == 302
        contact.refresh_from_db()
        case.refresh_from_db()
        assert contact.risk_level == case.risk_level == RiskLevel.LOW
        assert contact.cssrs_method is None
        changes = contact.amendments.get().changes
        assert changes["risk_level"] == {"from": "high", "to": "low"}
        page = client.get(reverse("cases:contact_detail", args=[contact.pk])).content.decode()
        assert "Question 2 was mis-keyed" in page
        assert re.search(r"<strong>C-SSRS 2\. [^<]+</strong>: <del>Yes</del> → No", page)
        assert re.search(r"<strong>C-SSRS 3\. [^<]+</strong>: <del>Yes</del> → Not asked", page)
        assert "<strong>Risk level</strong>: <del>High</del> → Low" in page
        # The risk level comes last, after the answers it was worked out from.
        assert page.index("C-SSRS 2.") < page.index("<strong>Risk level</strong>")
        timeline = client.get(case_url("case_detail", case))
        summaries = [event.summary for event in timeline.context["events"]]
        assert "Risk level High → Low (C-SSRS screen)" in summaries
        assert "Risk level High → Low (C-SSRS screen)" in timeline.content.decode()

    def test_a_screen_breaking_the_skip_logic_shows_on_the_question(
        self, login, alice, record_contact_for
    ):
        contact = record_contact_for(alice, **HIGH_RISK)
        client = login(alice)
        data = self.current_values(client, contact)
        data.update({"cssrs_suicidal_thoughts": "no", "reason": "Question 2 was mis-keyed"})

        response = client.post(reverse("cases:contact_amend", args=[contact.pk]), data)

        assert response.status_code == 200
        errors = response.context["form"].errors
        assert errors["cssrs_method"] == ["Skipped when question 2 is no: leave it blank."]
        assert 'id="error_cssrs_method"' in response.content.decode()
        assert not contact.amendments.exists()
        contact.refresh_from_db()
        assert contact.risk_level == RiskLevel.HIGH

    def test_turning_the_screen_off_leaves_the_contact_not_screened(
        self, login, alice, record_contact_for
    ):
        contact = record_contact_for(alice, **HIGH_RISK)
        client = login(alice)
        data = self.current_values(client, contact)
        for key in ("cssrs_performed", *(k for k in data if k.startswith("cssrs_"))):
            data.pop(key, None)
        data["reason"] = "No screen was done on this call"

        assert (
            client.post(reverse("cases:contact_amend", args=[contact.pk]), data).status_code == 302
        )

        contact.refresh_from_db()
        contact.case.refresh_from_db()
        assert (contact.cssrs_performed, contact.risk_level) == (False, RiskLevel.NOT_SCREENED)
        assert contact.case.risk_level == RiskLevel.NOT_SCREENED

    def test_an_agency_admin_cannot_amend(self, login, dana, contact):
        response = login(dana).get(reverse("cases:contact_amend", args=[contact.pk]))
        assert response.status_code == 403


class TestClientSearch:
    def test_it_finds_my_clients_and_names_no_others_for_a_fragment(
        self, login, alice, alice_case, erin_case, carol_case
    ):
        response = login(alice).get(SEARCH_URL, {"q": "client"})

        assert [c.legal_name for c in response.context["page"]] == ["Alice Client"]
        assert response.context["outside"] is None
        page = response.content.decode()
        assert "Erin Client" not in page and "Carol Client" not in page
        assert reverse("casework:emergency_access", args=[erin_case.pk]) not in page
        event = AuditEvent.objects.get(actor=alice, action=Action.SEARCH)
        assert event.detail["ids"] == [alice_case.client_id]

    def test_the_exact_lookup_offers_another_teams_client_for_emergency_access_only(
        self, login, alice, alice_case, erin_case, carol_case
    ):
        response = login(alice).get(
            SEARCH_URL,
            {"outside-name": "Erin Client", "outside-date_of_birth": "1990-04-12"},
        )

        assert [s.client.pk for s in response.context["outside"]] == [erin_case.client_id]
        page = response.content.decode()
        assert reverse("casework:emergency_access", args=[erin_case.pk]) in page
        assert "Carol Client" not in page
        # Nothing more than it takes to ask for emergency access.
        assert "1990" not in page.replace('value="1990-04-12"', "")
        assert "0300" not in page

    def test_search_by_phone(self, login, alice, alice_case):
        response = login(alice).get(SEARCH_URL, {"q": "555-0100"})
        assert [c.pk for c in response.context["page"]] == [alice_case.client_id]

    def test_an_agency_admin_sees_the_whole_agency_and_no_emergency_section(
        self, login, dana, alice_case, erin_case, carol_case
    ):
        response = login(dana).get(SEARCH_URL, {"q": "client"})
        names = [c.legal_name for c in response.context["page"]]
        assert names == ["Alice Client", "Erin Client"]
        assert "Outside your caseload" not in response.content.decode()

    def test_someone_without_an_agency_is_refused_and_it_is_audited(self, login, root):
        assert login(root).get(SEARCH_URL, {"q": "client"}).status_code == 403
        denied = AuditEvent.objects.get(actor=root, action=Action.DENIED)
        assert (denied.object_type, denied.detail) == ("client_search", {"reason": "role"})

    def test_an_empty_search_lists_nothing(self, login, alice, alice_case):
        response = login(alice).get(SEARCH_URL)
        assert response.context["page"] is None
        assert not AuditEvent.objects.filter(action=Action.SEARCH).exists()

    def test_results_are_paginated(self, login, dana):
        for n in range(25):
            CaseFactory(client=ClientFactory(agency=dana.agency, legal_name=f"Pat Page {n:02}"))
        client = login(dana)
        first = client.get(SEARCH_URL, {"q": "pat page"})
        second = client.get(SEARCH_URL, {"q": "pat page", "page": 2})
        assert len(first.context["page"]) == 20
        assert len(second.context["page"]) == 5


class TestClientPages:
    def test_client_page_lists_their_visible_cases(self, login, alice, alice_case):
        services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = login(alice).get(reverse("cases:client_detail", args=[alice_case.client_id]))
        page = response.content.decode()
        assert response.status_code == 200
        assert "Closed" in page
        assert "Edit details" in page
        assert case_url("case_detail", alice_case) in page

    def test_editing_updates_the_client(self, login, bob, alice_case):
        url = reverse("cases:client_edit", args=[alice_case.client_id])
        client = login(bob)
        assert client.get(url).status_code == 200
        response = client.post(
            url,
            {
                "legal_name": "Alice Client",
                "preferred_name": "Ali",
                "date_of_birth": "1990-04-12",
                "phone": "541-555-0100",
                "where_to_find": "Library mornings",
            },
        )
        assert response.status_code == 302
        alice_case.client.refresh_from_db()
        assert alice_case.client.preferred_name == "Ali"
        assert alice_case.client.where_to_find == "Library mornings"

    def test_identifiers_are_set_changed_and_cleared(self, login, alice, alice_case):
        url = reverse("cases:client_edit", args=[alice_case.client_id])
        details = {"legal_name": "Alice Client", "date_of_birth": "1990-04-12"}
        client = login(alice)
        client.post(url, {**details, "identifier_hmis": "HMIS-7", "identifier_county": "C-3"})
        identifiers = alice_case.client.identifiers
        assert set(identifiers.values_list("kind", "value")) == {
            ("hmis", "HMIS-7"),
            ("county", "C-3"),
        }
        page = client.get(url).content.decode()
        assert 'value="HMIS-7"' in page
        client.post(url, {**details, "identifier_hmis": "HMIS-8"})
        assert set(identifiers.values_list("kind", "value")) == {("hmis", "HMIS-8")}

    def test_an_identifier_of_another_client_is_a_form_error(
        self, login, alice, alice_case, bob_case
    ):
        services.update_client(
            actor=alice, client=bob_case.client, data={}, identifiers=[("hmis", "H-1")]
        )
        url = reverse("cases:client_edit", args=[alice_case.client_id])
        response = login(alice).post(
            url,
            {"legal_name": "Alice Client", "date_of_birth": "1990-04-12", "identifier_hmis": "H-1"},
        )
        assert response.status_code == 200
        assert "already belongs to another client" in response.content.decode()
        assert not alice_case.client.identifiers.exists()

    def test_edit_errors_keep_the_values(self, login, alice, alice_case):
        url = reverse("cases:client_edit", args=[alice_case.client_id])
        response = login(alice).post(url, {"legal_name": "", "preferred_name": "Kept"})
        assert response.status_code == 200
        assert "legal_name" in response.context["form"].errors
        assert 'value="Kept"' in response.content.decode()

    def test_an_agency_admin_cannot_edit(self, login, dana, alice_case):
        client = login(dana)
        url = reverse("cases:client_edit", args=[alice_case.client_id])
        assert (
            client.get(reverse("cases:client_detail", args=[alice_case.client_id])).status_code
            == 200
        )
        assert client.get(url).status_code == 403
        assert client.post(url, {"legal_name": "X", "estimated_age": 3}).status_code == 403


class TestEmergencyAccess:
    def test_a_worker_breaks_the_glass_with_a_reason(self, login, alice, erin_case):
        client = login(alice)
        url = case_url("emergency_access", erin_case)
        assert client.get(case_url("case_detail", erin_case)).status_code == 404

        page = client.get(url)
        assert page.status_code == 200
        assert "Erin Client" in page.content.decode()

        short = client.post(url, {"reason": "urgent"})
        assert "reason" in short.context["form"].errors
        assert not EmergencyAccess.objects.exists()

        response = client.post(url, {"reason": "Client on scene, in crisis, needs history"})
        assert response.status_code == 302
        assert response.url == case_url("case_detail", erin_case)
        grant = EmergencyAccess.objects.get(user=alice, case=erin_case)
        assert grant.is_active
        assert client.get(case_url("case_detail", erin_case)).status_code == 200
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.EMERGENCY_ACCESS, object_id=str(erin_case.pk)
        ).exists()

    def test_a_visible_case_just_opens(self, login, alice, bob_case):
        response = login(alice).get(case_url("emergency_access", bob_case))
        assert response.status_code == 302
        assert response.url == case_url("case_detail", bob_case)

    def test_another_agencys_case_does_not_exist(self, login, alice, carol_case):
        client = login(alice)
        url = case_url("emergency_access", carol_case)
        assert client.get(url).status_code == 404
        assert client.post(url, {"reason": "Client on scene, in crisis"}).status_code == 404
        assert not EmergencyAccess.objects.exists()
        denied = AuditEvent.objects.filter(actor=alice, action=Action.DENIED)
        assert denied.count() == 2
        assert denied.first().agency_id == carol_case.agency_id

    def test_only_workers_break_the_glass(self, login, root, erin_case):
        assert login(root).get(case_url("emergency_access", erin_case)).status_code == 404


class TestAnotherAgencysRecords:
    def test_carol_gets_404_on_every_agency_a_page_and_each_is_audited(
        self, login, carol, alice_case
    ):
        contact = alice_case.contacts.get()
        client = login(carol)
        gets = [
            case_url("case_detail", alice_case),
            reverse("cases:contact_detail", args=[contact.pk]),
            reverse("cases:contact_amend", args=[contact.pk]),
            reverse("cases:client_detail", args=[alice_case.client_id]),
            reverse("cases:client_edit", args=[alice_case.client_id]),
            case_url("emergency_access", alice_case),
            f"{reverse('casework:contact_new')}?client={alice_case.client_id}",
        ]
        posts = [
            case_url("case_close", alice_case),
            case_url("case_concerns", alice_case),
            reverse("cases:contact_amend", args=[contact.pk]),
            reverse("cases:client_edit", args=[alice_case.client_id]),
        ]
        for url in gets:
            assert client.get(url).status_code == 404, url
        for url in posts:
            assert client.post(url, {"reason": "stabilised"}).status_code == 404, url

        denied = AuditEvent.objects.filter(actor=carol, action=Action.DENIED)
        assert denied.count() == len(gets) + len(posts)
        # Agency A's trail shows the attempts.
        assert set(denied.values_list("agency_id", flat=True)) == {alice_case.agency_id}
        alice_case.refresh_from_db()
        assert alice_case.is_open

    def test_carols_searches_never_show_agency_a(self, login, carol, alice_case, carol_case):
        page = login(carol).get(SEARCH_URL, {"q": "client"}).content.decode()
        assert "Carol Client" in page
        assert "Alice Client" not in page
        assert Case.objects.filter(agency=alice_case.agency).count() == 1
