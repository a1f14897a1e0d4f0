"""The follow-ups, protocols and hospital visits API: happy paths, the per-object
authorisation matrix (404 and a DENIED row when invisible, 403 for the agency admin's
read-only access), per-field 400s, audit rows and query counts."""

import datetime

import pytest
from django.utils import timezone

from audit.models import Action, AuditEvent
from followups.models import (
    Attempt,
    FollowUp,
    FollowUpEventKind,
    HospitalVisit,
    Status,
    Trigger,
    VisitKind,
)
from tests.conftest import HIGH_RISK, LOW_RISK
from tests.followups.factories import due_followup, ed_visit, make_case, make_contact

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def as_user(api):
    def sign_in(user):
        api.force_authenticate(user)
        return api

    return sign_in


def ids(response):
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def iso(moment):
    return moment.isoformat()


def denied_rows(user, object_type, object_id):
    return AuditEvent.objects.filter(
        actor=user, action=Action.DENIED, object_type=object_type, object_id=str(object_id)
    )


@pytest.fixture
def followups(alice, bob, erin, carol):
    """A one-off follow-up on a case of each worker (no protocol follow-ups: the cases
    were referred, which enrols in nothing)."""
    return {
        name: due_followup(make_case(user))
        for name, user in (("alice", alice), ("bob", bob), ("erin", erin), ("carol", carol))
    }


# --- Lists -------------------------------------------------------------------------------


class TestFollowUpList:
    def test_a_worker_lists_the_follow_ups_of_the_cases_they_see(self, as_user, alice, followups):
        response = as_user(alice).get("/api/v1/followups/")

        assert sorted(ids(response)) == sorted([followups["alice"].pk, followups["bob"].pk])
        event = AuditEvent.objects.get(actor=alice, action=Action.LIST, object_type="followup")
        assert sorted(event.detail["ids"]) == sorted([followups["alice"].pk, followups["bob"].pk])
        assert event.detail["client_ids"] == sorted(
            {followups["alice"].case.client_id, followups["bob"].case.client_id}
        )

    def test_the_row_says_why_it_exists_and_for_whom(self, as_user, alice, followups):
        row = as_user(alice).get("/api/v1/followups/", {"assigned_to": "me"}).json()["results"][0]

        assert row["id"] == followups["alice"].pk
        assert row["reason"] == "Check how the client is doing"
        assert row["status"] == "due"
        assert row["assigned_to"]["username"] == "alice"
        assert row["client"]["id"] == followups["alice"].case.client_id
        assert row["protocol"] is None
        assert row["step"] is None

    def test_a_protocol_follow_up_names_its_protocol_and_step(self, as_user, alice):
        case = make_case(alice)
        ed_visit(case)

        rows = as_user(alice).get("/api/v1/followups/", {"case": case.pk}).json()["results"]

        assert rows, "the ER visit enrols the client"
        assert {row["protocol"]["key"] for row in rows} == {
            fu.enrolment.version.protocol.key for fu in FollowUp.objects.filter(case=case)
        }
        first = FollowUp.objects.filter(case=case).order_by("due_at", "pk").first()
        assert rows[0]["step"] == {
            "id": first.step_id,
            "name": first.step.name,
            "position": first.step.position,
        }
        assert rows[0]["protocol"]["version"] == 1

    def test_the_agency_admin_reads_the_whole_agency(self, as_user, dana, followups):
        listed = set(ids(as_user(dana).get("/api/v1/followups/")))

        assert listed == {followups[n].pk for n in ("alice", "bob", "erin")}

    def test_the_system_admin_sees_none(self, as_user, root, followups):
        assert ids(as_user(root).get("/api/v1/followups/")) == []

    def test_another_agency_never_appears(self, as_user, carol, followups):
        assert ids(as_user(carol).get("/api/v1/followups/")) == [followups["carol"].pk]

    def test_filters(self, as_user, alice, bob, followups):
        later = due_followup(followups["alice"].case, due_in=datetime.timedelta(days=3))
        late = due_followup(followups["bob"].case, due_in=-HOUR)
        done = due_followup(followups["alice"].case)
        api = as_user(alice)
        api.post(f"/api/v1/followups/{done.pk}/complete/", {}, format="json")
        now = timezone.now()

        mine = ids(api.get("/api/v1/followups/", {"assigned_to": "me"}))
        assert sorted(mine) == sorted([followups["alice"].pk, later.pk, done.pk])
        assert set(ids(api.get("/api/v1/followups/", {"assigned_to": bob.pk}))) == {
            followups["bob"].pk,
            late.pk,
        }
        assert ids(api.get("/api/v1/followups/", {"status": "completed"})) == [done.pk]
        assert ids(api.get("/api/v1/followups/", {"status": "overdue"})) == [late.pk]
        assert set(ids(api.get("/api/v1/followups/", {"case": followups["bob"].case_id}))) == {
            followups["bob"].pk,
            late.pk,
        }
        assert ids(api.get("/api/v1/followups/", {"due_after": iso(now + 2 * HOUR * 24)})) == [
            later.pk
        ]
        assert ids(api.get("/api/v1/followups/", {"due_before": iso(now)})) == [late.pk]
        assert ids(api.get("/api/v1/followups/", {"overdue": "true"})) == [late.pk]
        assert late.pk not in ids(api.get("/api/v1/followups/", {"overdue": "false"}))

    def test_a_case_filter_of_another_agency_finds_nothing(self, as_user, alice, followups):
        response = as_user(alice).get("/api/v1/followups/", {"case": followups["carol"].case_id})

        assert ids(response) == []

    @pytest.mark.parametrize(
        "query",
        [
            {"status": "lost"},
            {"case": "abc"},
            {"case": 2**64},
            {"due_before": "yesterday"},
            {"due_after": "2024-13-45"},
            {"overdue": "maybe"},
            {"assigned_to": "you"},
            {"assigned_to": "-1"},
        ],
    )
    def test_bad_filters_are_a_400_naming_the_filter(self, query, as_user, alice):
        response = as_user(alice).get("/api/v1/followups/", query)

        assert response.status_code == 400
        assert set(query) <= set(response.json())

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        api = as_user(alice)
        case = make_case(alice)
        ed_visit(case)  # protocol rows: enrolment, version, protocol and step joined in
        for rows in (5, 25):
            while FollowUp.objects.count() < rows:
                due_followup(make_case(alice))
            with django_assert_max_num_queries(8):
                response = api.get("/api/v1/followups/", {"page_size": 50})
            assert response.json()["count"] == rows


class TestToday:
    def test_due_and_overdue_follow_ups_assigned_to_me_by_risk_then_window(self, as_user, alice):
        low = make_case(alice, **LOW_RISK)
        high = make_case(alice, **HIGH_RISK)  # also enrols the intensive protocol
        low_soon = due_followup(low, due_in=HOUR, window_end=timezone.now() + 2 * HOUR)
        low_late = due_followup(low, due_in=-HOUR, window_end=timezone.now() + 3 * HOUR)
        # Open now, whatever the hour: a window left to default would open at the next
        # local midnight when five hours from now is tomorrow in Los Angeles.
        high_later = due_followup(high, due_in=5 * HOUR, window_start=timezone.now() - HOUR)
        scheduled = FollowUp.objects.filter(case=high, status=Status.SCHEDULED)
        done = due_followup(low)
        as_user(alice).post(f"/api/v1/followups/{done.pk}/complete/", {}, format="json")

        response = as_user(alice).get("/api/v1/followups/today/", {"page_size": 100})

        rows = response.json()["results"]
        listed = [row["id"] for row in rows]
        assert {low_soon.pk, low_late.pk, high_later.pk} <= set(listed)
        assert done.pk not in listed
        assert not set(scheduled.values_list("pk", flat=True)) & set(listed)
        assert {row["status"] for row in rows} <= {"due", "overdue"}
        risks = [row["risk_level"] for row in rows]
        assert risks == sorted(risks, key=lambda r: r != "high")
        low_rows = [row for row in rows if row["risk_level"] == "low"]
        assert [row["window_end"] for row in low_rows] == sorted(r["window_end"] for r in low_rows)
        assert listed.index(low_soon.pk) < listed.index(low_late.pk)
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.LIST, object_type="followup", detail__list="today"
        ).exists()

    def test_a_teammates_follow_ups_are_not_on_my_today_list(self, as_user, alice, followups):
        listed = ids(as_user(alice).get("/api/v1/followups/today/"))

        assert listed == [followups["alice"].pk]

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        api = as_user(alice)
        for rows in (3, 15):
            while FollowUp.objects.filter(assigned_to=alice).count() < rows:
                due_followup(make_case(alice))
            with django_assert_max_num_queries(8):
                response = api.get("/api/v1/followups/today/", {"page_size": 50})
            assert response.json()["count"] == rows


# --- One follow-up -----------------------------------------------------------------------


class TestRetrieve:
    def test_attempts_and_history_and_a_view_row(self, as_user, alice, followups):
        fu = followups["alice"]
        api = as_user(alice)
        api.post(
            f"/api/v1/followups/{fu.pk}/attempts/",
            {"outcome": "no_answer", "note": "Voicemail full"},
            format="json",
        )

        response = api.get(f"/api/v1/followups/{fu.pk}/")

        assert response.status_code == 200
        body = response.json()
        assert [a["outcome"] for a in body["attempts"]] == ["no_answer"]
        assert body["attempts"][0]["by"]["username"] == "alice"
        assert body["attempts"][0]["method"] == "phone"
        assert [e["kind"] for e in body["history"]] == ["created", "attempt"]
        view = AuditEvent.objects.get(
            actor=alice, action=Action.VIEW, object_type="followup", object_id=str(fu.pk)
        )
        assert view.client_id == fu.case.client_id

    @pytest.mark.parametrize("persona", ["erin", "carol", "root"])
    def test_others_get_a_404_and_a_denied_row(self, persona, request, as_user, followups):
        user = request.getfixturevalue(persona)
        fu = followups["alice"]

        response = as_user(user).get(f"/api/v1/followups/{fu.pk}/")

        assert response.status_code == 404
        assert denied_rows(user, "followup", fu.pk).exists()

    def test_another_agencys_denial_is_in_the_owning_agencys_trail(self, as_user, carol, followups):
        fu = followups["alice"]
        as_user(carol).get(f"/api/v1/followups/{fu.pk}/")

        assert denied_rows(carol, "followup", fu.pk).get().agency_id == fu.agency_id


# name -> (method, path under the follow-up, a valid body)
WRITES = {
    "attempt": ("attempts/", {"outcome": "left_message"}),
    "complete": ("complete/", {"note": "Talked it through"}),
    "move": ("move/", {"due_at": None, "reason": "Client asked for Friday"}),
    "cancel": ("cancel/", {"reason": "Client moved away"}),
}


def write_body(name):
    path, body = WRITES[name]
    body = dict(body)
    if "due_at" in body:
        body["due_at"] = iso(timezone.now() + datetime.timedelta(days=2))
    return path, body


class TestAuthorisationMatrix:
    """alice own / bob same team / sam supervisor: may; dana: 403; erin, carol: 404."""

    @pytest.mark.parametrize("name", list(WRITES))
    @pytest.mark.parametrize(
        ("persona", "expected"),
        [
            ("alice", 200),
            ("bob", 200),
            ("sam", 200),
            ("dana", 403),
            ("erin", 404),
            ("carol", 404),
            ("root", 404),
        ],
    )
    def test_writes(self, request, as_user, followups, sam, dana, root, name, persona, expected):
        user = request.getfixturevalue(persona)
        fu = followups["alice"]
        path, body = write_body(name)

        response = as_user(user).post(f"/api/v1/followups/{fu.pk}/{path}", body, format="json")

        if expected == 200:
            assert response.status_code in (200, 201), response.content[:300]
        else:
            assert response.status_code == expected, response.content[:300]
            assert denied_rows(user, "followup", fu.pk).exists()
            fu.refresh_from_db()
            assert fu.status == Status.DUE
            assert not fu.attempts.exists()

    @pytest.mark.parametrize(
        ("persona", "expected"),
        [
            ("alice", 200),
            ("bob", 200),
            ("sam", 200),
            ("dana", 200),
            ("erin", 404),
            ("carol", 404),
            ("root", 404),
        ],
    )
    def test_reads(self, request, as_user, followups, sam, dana, root, persona, expected):
        user = request.getfixturevalue(persona)
        fu = followups["alice"]

        response = as_user(user).get(f"/api/v1/followups/{fu.pk}/")

        assert response.status_code == expected


class TestCreate:
    def body(self, on_case, **overrides):
        body = {
            "case": on_case.pk,
            "due_at": iso(timezone.now() + datetime.timedelta(days=1)),
            "reason": "Check the new medication",
            "method": "visit",
            "title": "Home visit",
        }
        body.update(overrides)
        return body

    def test_a_worker_adds_a_one_off_follow_up(self, as_user, alice, bob):
        case = make_case(bob)

        response = as_user(alice).post("/api/v1/followups/", self.body(case), format="json")

        assert response.status_code == 201, response.json()
        fu = FollowUp.objects.get(pk=response.json()["id"])
        assert (fu.case, fu.method, fu.title, fu.assigned_to) == (case, "visit", "Home visit", bob)
        assert fu.created_by == alice
        assert response.json()["history"][0]["kind"] == "created"
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.CREATE, object_type="followup", object_id=str(fu.pk)
        ).exists()

    def test_a_window_end_and_an_assignee_may_be_given(self, as_user, alice, bob):
        case = make_case(alice)
        due = timezone.now() + datetime.timedelta(days=1)
        end = due + datetime.timedelta(days=2)

        response = as_user(alice).post(
            "/api/v1/followups/",
            self.body(case, due_at=iso(due), window_end=iso(end), assigned_to="bob"),
            format="json",
        )

        assert response.status_code == 201, response.json()
        fu = FollowUp.objects.get(pk=response.json()["id"])
        assert fu.window_end == end
        assert fu.assigned_to == bob

    def test_the_agency_admin_may_not(self, as_user, dana, alice):
        case = make_case(alice)

        response = as_user(dana).post("/api/v1/followups/", self.body(case), format="json")

        assert response.status_code == 403
        assert not FollowUp.objects.filter(case=case).exists()

    @pytest.mark.parametrize("persona", ["erin", "carol"])
    def test_a_case_one_cannot_see_does_not_exist(self, persona, request, as_user, alice):
        case = make_case(alice)

        response = as_user(request.getfixturevalue(persona)).post(
            "/api/v1/followups/", self.body(case), format="json"
        )

        assert response.status_code == 400
        assert "case" in response.json()
        assert not FollowUp.objects.filter(case=case).exists()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"due_at": "next tuesday"}, "due_at"),
            ({"due_at": "2024-13-45T25:00:00Z"}, "due_at"),
            ({"due_at": "0001-01-01T00:00:00Z"}, "due_at"),
            ({"due_at": "9999-12-31T23:59:59Z"}, "due_at"),
            ({"method": "carrier pigeon"}, "method"),
            ({"reason": ""}, "reason"),
            ({"reason": "   "}, "reason"),
            ({"reason": "x" * 301}, "reason"),
            ({"window_end": "soon"}, "window_end"),
            ({"assigned_to": "nobody"}, "assigned_to"),
            ({"case": "abc"}, "case"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, as_user, alice, overrides, field):
        case = make_case(alice)

        response = as_user(alice).post(
            "/api/v1/followups/", self.body(case, **overrides), format="json"
        )

        assert response.status_code == 400, response.content[:300]
        assert field in response.json()

    def test_rules_of_the_service_name_their_field(self, as_user, alice):
        case = make_case(alice)
        api = as_user(alice)
        past = iso(timezone.now() - datetime.timedelta(days=3))
        due = timezone.now() + datetime.timedelta(days=1)

        response = api.post("/api/v1/followups/", self.body(case, due_at=past), format="json")
        assert response.status_code == 400
        assert response.json()["due_at"] == ["A follow-up cannot be due in the past."]

        response = api.post(
            "/api/v1/followups/",
            self.body(case, due_at=iso(due), window_end=iso(due - HOUR)),
            format="json",
        )
        assert response.status_code == 400
        assert "window_end" in response.json()

    @pytest.mark.parametrize("field", ["case", "due_at", "reason"])
    def test_a_missing_field_is_named(self, as_user, alice, field):
        body = self.body(make_case(alice))
        body.pop(field)

        response = as_user(alice).post("/api/v1/followups/", body, format="json")

        assert response.status_code == 400
        assert field in response.json()


class TestAttempts:
    def test_an_attempt_is_logged_and_audited(self, as_user, alice, followups):
        fu = followups["alice"]
        at = timezone.now() - HOUR

        response = as_user(alice).post(
            f"/api/v1/followups/{fu.pk}/attempts/",
            {"outcome": "wrong_number", "method": "text", "note": "Number changed", "at": iso(at)},
            format="json",
        )

        assert response.status_code == 201, response.json()
        attempt = Attempt.objects.get(followup=fu)
        assert (attempt.outcome, attempt.method, attempt.note, attempt.at, attempt.by) == (
            "wrong_number",
            "text",
            "Number changed",
            at,
            alice,
        )
        assert response.json()["status"] == "due"
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.CREATE, object_type="attempt", object_id=str(attempt.pk)
        ).exists()

    def test_reached_completes_it(self, as_user, alice, followups):
        fu = followups["alice"]

        response = as_user(alice).post(
            f"/api/v1/followups/{fu.pk}/attempts/", {"outcome": "reached"}, format="json"
        )

        assert response.status_code == 201
        assert response.json()["status"] == "completed"
        assert response.json()["done_within_window"] is True

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"outcome": "vanished"}, "outcome"),
            ({}, "outcome"),
            ({"outcome": "reached", "method": "telepathy"}, "method"),
            ({"outcome": "reached", "at": "garbage"}, "at"),
            ({"outcome": "reached", "at": "0001-01-01T00:00:00Z"}, "at"),
            ({"outcome": "reached", "at": "2999-01-01T00:00:00Z"}, "at"),
            ({"outcome": "reached", "contact": 2**64}, "contact"),
            ({"outcome": "reached", "note": "x" * 2001}, "note"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, as_user, alice, followups, body, field):
        fu = followups["alice"]

        response = as_user(alice).post(f"/api/v1/followups/{fu.pk}/attempts/", body, format="json")

        assert response.status_code == 400, response.content[:300]
        assert field in response.json()
        assert not fu.attempts.exists()

    def test_a_closed_follow_up_refuses_attempts(self, as_user, alice, followups):
        fu = followups["alice"]
        api = as_user(alice)
        api.post(f"/api/v1/followups/{fu.pk}/cancel/", {"reason": "Duplicate"}, format="json")

        response = api.post(
            f"/api/v1/followups/{fu.pk}/attempts/", {"outcome": "reached"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["code"] == "followup_closed"


class TestComplete:
    def test_complete_by_a_contact_on_the_same_case(self, as_user, alice, followups):
        fu = followups["alice"]
        contact = make_contact(alice, client=fu.case.client)
        assert contact.case_id == fu.case_id

        response = as_user(alice).post(
            f"/api/v1/followups/{fu.pk}/complete/",
            {"contact": contact.pk, "note": "Seen at the shelter"},
            format="json",
        )

        assert response.status_code == 200, response.json()
        fu.refresh_from_db()
        assert fu.status == Status.COMPLETED
        assert fu.completed_contact == contact
        assert fu.completed_by == alice
        assert response.json()["completed_contact"] == contact.pk
        assert AuditEvent.objects.filter(
            actor=alice,
            action=Action.UPDATE,
            object_type="followup",
            object_id=str(fu.pk),
            detail__status="completed",
        ).exists()

    @pytest.mark.parametrize("whose", ["bob", "carol"])
    def test_a_contact_on_another_case_is_refused(self, as_user, alice, followups, whose):
        fu = followups["alice"]
        other = followups[whose].case.contacts.get()

        response = as_user(alice).post(
            f"/api/v1/followups/{fu.pk}/complete/", {"contact": other.pk}, format="json"
        )

        assert response.status_code == 400
        assert "contact" in response.json()
        fu.refresh_from_db()
        assert fu.status == Status.DUE

    def test_completing_twice_is_a_400(self, as_user, alice, followups):
        fu = followups["alice"]
        api = as_user(alice)
        api.post(f"/api/v1/followups/{fu.pk}/complete/", {}, format="json")

        response = api.post(f"/api/v1/followups/{fu.pk}/complete/", {}, format="json")

        assert response.status_code == 400
        assert response.json()["code"] == "followup_closed"


class TestMove:
    def test_the_due_time_moves_with_its_reason_kept(self, as_user, alice, followups):
        fu = followups["alice"]
        old_due = fu.due_at
        new_due = timezone.now() + datetime.timedelta(days=4)

        response = as_user(alice).post(
            f"/api/v1/followups/{fu.pk}/move/",
            {"due_at": iso(new_due), "reason": "Client in hospital until Friday"},
            format="json",
        )

        assert response.status_code == 200, response.json()
        fu.refresh_from_db()
        assert fu.due_at == new_due
        moved = fu.events.get(kind=FollowUpEventKind.RESCHEDULED)
        assert (moved.actor, moved.reason) == (alice, "Client in hospital until Friday")
        assert moved.detail["from"]["due_at"] == old_due.isoformat()
        history = response.json()["history"]
        assert history[-1]["reason"] == "Client in hospital until Friday"
        assert history[-1]["detail"]["to"]["due_at"] == new_due.isoformat()
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.UPDATE, object_type="followup", detail__has_key="due_at"
        ).exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"due_at": "tomorrow", "reason": "x"}, "due_at"),
            ({"due_at": "0001-01-01T00:00:00+05:00", "reason": "x"}, "due_at"),
            ({"reason": "Later"}, "due_at"),
            ({"due_at": "2030-01-01T00:00:00Z"}, "reason"),
            ({"due_at": "2030-01-01T00:00:00Z", "reason": ""}, "reason"),
            ({"due_at": "2030-01-01T00:00:00Z", "reason": {"a": 1}}, "reason"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, as_user, alice, followups, body, field):
        fu = followups["alice"]

        response = as_user(alice).post(f"/api/v1/followups/{fu.pk}/move/", body, format="json")

        assert response.status_code == 400, response.content[:300]
        assert field in response.json()
        assert not fu.events.filter(kind=FollowUpEventKind.RESCHEDULED).exists()

    def test_a_due_time_in_the_past_names_due_at(self, as_user, alice, followups):
        fu = followups["alice"]
        past = iso(timezone.now() - datetime.timedelta(days=2))

        response = as_user(alice).post(
            f"/api/v1/followups/{fu.pk}/move/", {"due_at": past, "reason": "x"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["due_at"] == ["A follow-up cannot be due in the past."]

    def test_moving_a_cancelled_one_is_a_400(self, as_user, alice, followups):
        fu = followups["alice"]
        api = as_user(alice)
        api.post(f"/api/v1/followups/{fu.pk}/cancel/", {"reason": "Duplicate"}, format="json")

        response = api.post(
            f"/api/v1/followups/{fu.pk}/move/",
            {"due_at": iso(timezone.now() + datetime.timedelta(days=1)), "reason": "Later"},
            format="json",
        )

        assert response.status_code == 400
        assert response.json() == {
            "detail": "This follow-up is already cancelled.",
            "code": "followup_closed",
        }


class TestCancel:
    def test_cancel_keeps_the_reason(self, as_user, alice, followups):
        fu = followups["alice"]

        response = as_user(alice).post(
            f"/api/v1/followups/{fu.pk}/cancel/", {"reason": "Client moved away"}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        assert response.json()["cancel_reason"] == "Client moved away"
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.UPDATE, object_type="followup", detail__status="cancelled"
        ).exists()

    @pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}, {"reason": [1]}])
    def test_a_reason_is_required(self, as_user, alice, followups, body):
        fu = followups["alice"]

        response = as_user(alice).post(f"/api/v1/followups/{fu.pk}/cancel/", body, format="json")

        assert response.status_code == 400
        assert "reason" in response.json()
        fu.refresh_from_db()
        assert fu.status == Status.DUE


# --- Protocols ---------------------------------------------------------------------------


class TestProtocols:
    def test_the_agencys_protocols_with_their_current_version_and_steps(
        self, as_user, alice, carol, django_assert_max_num_queries
    ):
        make_case(alice, disposition="resolved")  # installs agency A's protocols
        make_case(carol, disposition="resolved")

        with django_assert_max_num_queries(6):
            response = as_user(alice).get("/api/v1/protocols/", {"page_size": 100})

        rows = response.json()["results"]
        assert rows
        from followups.models import Protocol

        assert {row["id"] for row in rows} == set(
            Protocol.objects.filter(agency=alice.agency).values_list("pk", flat=True)
        )
        post_ed = next(row for row in rows if row["key"] == "post-ed-discharge")
        assert post_ed["current_version"]["number"] == 1
        assert "Utah" in post_ed["current_version"]["description"]
        assert len(post_ed["current_version"]["steps"]) == 4

    def test_another_agencys_protocol_is_a_404(self, as_user, alice, carol):
        make_case(carol, disposition="resolved")
        from followups.models import Protocol

        theirs = Protocol.objects.filter(agency=carol.agency).first()

        assert as_user(alice).get(f"/api/v1/protocols/{theirs.pk}/").status_code == 404
        assert as_user(carol).get(f"/api/v1/protocols/{theirs.pk}/").status_code == 200


# --- Hospital visits ---------------------------------------------------------------------


class TestHospitalVisits:
    def body(self, on_case, **overrides):
        body = {
            "case": on_case.pk,
            "kind": "ed",
            "reason": "mental_health",
            "arrived_at": iso(timezone.now() - 5 * HOUR),
            "facility": "Sacred Heart",
        }
        body.update(overrides)
        return body

    def test_recording_a_visit_enrols_the_client(self, as_user, alice):
        case = make_case(alice)

        response = as_user(alice).post("/api/v1/hospital-visits/", self.body(case), format="json")

        assert response.status_code == 201, response.json()
        visit = HospitalVisit.objects.get(pk=response.json()["id"])
        assert (visit.case, visit.kind, visit.facility) == (case, VisitKind.ED, "Sacred Heart")
        assert FollowUp.objects.filter(case=case, enrolment__trigger=Trigger.ED_VISIT).exists()
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.CREATE, object_type="hospitalvisit"
        ).exists()

    def test_discharge_re_anchors_the_protocol(self, as_user, alice):
        case = make_case(alice)
        visit = ed_visit(case, arrived_at=timezone.now() - 30 * HOUR)
        before = set(FollowUp.objects.filter(case=case).values_list("due_at", flat=True))
        discharged = timezone.now() - 2 * HOUR

        response = as_user(alice).post(
            f"/api/v1/hospital-visits/{visit.pk}/discharge/",
            {"discharged_at": iso(discharged)},
            format="json",
        )

        assert response.status_code == 200, response.json()
        assert response.json()["anchor_at"] == iso(discharged).replace("+00:00", "Z")
        after = set(FollowUp.objects.filter(case=case).values_list("due_at", flat=True))
        assert after != before

    def test_list_is_scoped_and_audited(self, as_user, alice, erin, carol):
        mine = ed_visit(make_case(alice))
        ed_visit(make_case(erin))
        ed_visit(make_case(carol))

        assert ids(as_user(alice).get("/api/v1/hospital-visits/")) == [mine.pk]
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.LIST, object_type="hospitalvisit", detail__ids=[mine.pk]
        ).exists()

    def test_the_query_count_does_not_grow_with_the_rows(
        self, as_user, alice, django_assert_max_num_queries
    ):
        api = as_user(alice)
        for rows in (2, 8):
            while HospitalVisit.objects.count() < rows:
                ed_visit(make_case(alice))
            with django_assert_max_num_queries(7):
                response = api.get("/api/v1/hospital-visits/", {"page_size": 50})
            assert response.json()["count"] == rows

    @pytest.mark.parametrize(
        ("persona", "read", "write"),
        [
            ("alice", 200, 200),
            ("bob", 200, 200),
            ("sam", 200, 200),
            ("dana", 200, 403),
            ("erin", 404, 404),
            ("carol", 404, 404),
        ],
    )
    def test_authorisation(self, request, as_user, alice, sam, dana, persona, read, write):
        visit = ed_visit(make_case(alice))
        api = as_user(request.getfixturevalue(persona))

        assert api.get(f"/api/v1/hospital-visits/{visit.pk}/").status_code == read
        response = api.post(
            f"/api/v1/hospital-visits/{visit.pk}/discharge/",
            {"discharged_at": iso(timezone.now())},
            format="json",
        )
        assert response.status_code == write

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"reason": "boredom"}, "reason"),
            ({"kind": "spa"}, "kind"),
            ({"arrived_at": "last night"}, "arrived_at"),
            ({"arrived_at": "0001-01-01T00:00:00Z"}, "arrived_at"),
            ({"discharged_at": "2000-01-01T00:00:00Z"}, "discharged_at"),
            ({"admitted": "maybe"}, "admitted"),
            ({"case": 2**64}, "case"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, as_user, alice, overrides, field):
        case = make_case(alice)

        response = as_user(alice).post(
            "/api/v1/hospital-visits/", self.body(case, **overrides), format="json"
        )

        assert response.status_code == 400, response.content[:300]
        assert field in response.json()
        assert not HospitalVisit.objects.filter(case=case).exists()

    def test_the_agency_admin_may_not_record_one(self, as_user, dana, alice):
        case = make_case(alice)

        response = as_user(dana).post("/api/v1/hospital-visits/", self.body(case), format="json")

        assert response.status_code == 403


class TestIdsInUrls:
    @pytest.mark.parametrize(
        "bad", [" {pk}", "+{pk}", "{pk}.0", "{pk} ", "9999999999999999999", "0", "-1", "abc"]
    )
    def test_what_is_not_an_id_is_a_json_404(self, as_user, alice, bad):
        case = make_case(alice)
        fu = due_followup(case)
        visit = ed_visit(case)
        version = FollowUp.objects.filter(enrolment__isnull=False).first().enrolment.version
        api = as_user(alice)
        for url, pk in (
            ("/api/v1/followups/{}/", fu.pk),
            ("/api/v1/hospital-visits/{}/", visit.pk),
            ("/api/v1/protocols/{}/", version.protocol_id),
        ):
            # Python's int() reads " 12" and "+12" as 12: the record exists.
            assert api.get(url.format(pk)).status_code == 200
            response = api.get(url.format(bad.format(pk=pk)))
            assert response.status_code == 404, (url, bad, response.content[:200])
            assert response["Content-Type"].startswith("application/json")


class TestClientReminderChannel:
    """The client API takes how the client agreed to get reminders, with the page's rule:
    email needs the email address, text the phone number."""

    def test_a_channel_is_recorded_with_what_it_needs(self, as_user, alice, alice_case):
        client_id = alice_case.client_id

        response = as_user(alice).patch(
            f"/api/v1/clients/{client_id}/",
            {"email": "jordan@example.org", "reminder_channel": "email"},
            format="json",
        )

        assert response.status_code == 200, response.json()
        assert response.json()["email"] == "jordan@example.org"
        assert response.json()["reminder_channel"] == "email"
        alice_case.client.refresh_from_db()
        assert (alice_case.client.email, alice_case.client.reminder_channel) == (
            "jordan@example.org",
            "email",
        )

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"reminder_channel": "email"}, "email"),
            ({"reminder_channel": "email", "email": ""}, "email"),
            ({"reminder_channel": "text", "phone": ""}, "phone"),
            ({"reminder_channel": "pigeon"}, "reminder_channel"),
            ({"email": "not-an-email"}, "email"),
        ],
    )
    def test_a_channel_without_its_address_is_a_400(self, as_user, alice, alice_case, body, field):
        response = as_user(alice).patch(
            f"/api/v1/clients/{alice_case.client_id}/", body, format="json"
        )

        assert response.status_code == 400
        assert field in response.json()
        alice_case.client.refresh_from_db()
        assert alice_case.client.reminder_channel == ""

    def test_text_reminders_use_the_recorded_phone(self, as_user, alice, alice_case):
        assert alice_case.client.phone

        response = as_user(alice).patch(
            f"/api/v1/clients/{alice_case.client_id}/", {"reminder_channel": "text"}, format="json"
        )

        assert response.status_code == 200, response.json()
        assert response.json()["reminder_channel"] == "text"

    def test_clearing_the_phone_of_a_text_client_is_refused(self, as_user, alice, alice_case):
        api = as_user(alice)
        api.patch(
            f"/api/v1/clients/{alice_case.client_id}/", {"reminder_channel": "text"}, format="json"
        )

        response = api.patch(
            f"/api/v1/clients/{alice_case.client_id}/", {"phone": ""}, format="json"
        )

        assert response.status_code == 400
        assert "phone" in response.json()
