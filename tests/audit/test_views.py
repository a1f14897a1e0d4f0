import datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from audit import views
from audit.models import Action, AuditEvent
from audit.services import record
from tests.accounts.factories import UserFactory

URL = reverse("audit:trail")


def shown(response):
    return [e.pk for e in response.context["events"]]


@pytest.mark.django_db
class TestTrailAccess:
    def test_agency_admin_sees_their_agencys_events_and_never_another_agencys(
        self, login, dana, alice_case, carol_case
    ):
        signed_in = login(dana)
        agency_a = set(AuditEvent.objects.filter(agency=dana.agency).values_list("pk", flat=True))
        agency_b = set(
            AuditEvent.objects.filter(agency=carol_case.agency).values_list("pk", flat=True)
        )
        assert agency_a and agency_b
        response = signed_in.get(URL)
        assert response.status_code == 200
        assert set(shown(response)) == agency_a
        content = response.content.decode()
        assert "alice" in content
        assert "carol" not in content

    def test_another_agencys_admin_sees_only_theirs(self, login, team_b, alice_case, carol_case):
        admin_b = UserFactory(username="bart", agency=team_b.agency, role=Role.AGENCY_ADMIN)
        response = login(admin_b).get(URL)
        assert response.context["events"]
        assert {e.agency_id for e in response.context["events"]} == {team_b.agency_id}

    def test_a_filter_cannot_reach_another_agency(self, login, dana, carol_case):
        response = login(dana).get(URL, {"user": "carol", "client_id": carol_case.client_id})
        assert shown(response) == []

    @pytest.mark.parametrize("persona", ["alice", "sam", "carol", "root"])
    def test_everyone_else_is_refused(self, login, request, persona):
        user = request.getfixturevalue(persona)
        response = login(user).get(URL)
        assert response.status_code == 403
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_type="audit_trail"
        ).exists()

    def test_anonymous_is_sent_to_login(self, client):
        response = client.get(URL)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize("method", ["post", "put", "delete"])
    def test_the_page_is_read_only(self, login, dana, method):
        signed_in = login(dana)
        record(actor=dana, action=Action.VIEW, object_type="case", object_id=1)
        count = AuditEvent.objects.count()
        response = getattr(signed_in, method)(URL)
        assert response.status_code == 405
        assert AuditEvent.objects.count() == count

    def test_viewing_the_trail_is_recorded(self, login, dana, alice_case):
        login(dana).get(URL, {"action": "create", "page": "1"})
        event = AuditEvent.objects.get(actor=dana, action=Action.VIEW, object_type="audit_trail")
        assert event.agency_id == dana.agency_id
        assert event.detail["filters"] == {"action": "create"}
        assert event.path.startswith(URL)


@pytest.mark.django_db
class TestTrailPage:
    def test_newest_first(self, login, dana, alice):
        signed_in = login(dana)
        first = record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        second = record(actor=alice, action=Action.VIEW, object_type="case", object_id=2)
        assert shown(signed_in.get(URL))[:2] == [second.pk, first.pk]

    def test_it_shows_time_in_the_agency_time_zone_user_action_object_client_ip_and_path(
        self, login, dana, alice, rf
    ):
        request = rf.get("/cases/7/", REMOTE_ADDR="203.0.113.9")
        request.user = alice
        at = datetime.datetime(2026, 1, 15, 20, 30, tzinfo=datetime.UTC)
        with time_machine.travel(at, tick=False):
            record(
                request=request, action=Action.VIEW, object_type="case", object_id=7, client_id=42
            )
        content = login(dana).get(URL, {"user": "alice"}).content.decode()
        # Agency A is in Los Angeles: 20:30 UTC is 12:30 there.
        assert 'datetime="2026-01-15T12:30:00-08:00"' in content
        assert "Viewed" in content
        assert "case #7" in content
        assert ">42<" in content
        assert "203.0.113.9" in content
        assert "/cases/7/" in content

    def test_filter_by_user(self, login, dana, alice, bob):
        mine = record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        record(actor=bob, action=Action.VIEW, object_type="case", object_id=1)
        assert shown(login(dana).get(URL, {"user": "ALICE"})) == [mine.pk]

    def test_filter_by_action_and_object_type(self, login, dana, alice):
        record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        search = record(actor=alice, action=Action.SEARCH, object_type="client")
        record(actor=alice, action=Action.VIEW, object_type="client", object_id=1)
        signed_in = login(dana)
        assert shown(signed_in.get(URL, {"action": "search"})) == [search.pk]
        response = signed_in.get(URL, {"action": "view", "object_type": "client"})
        assert len(shown(response)) == 1

    def test_filter_by_client(self, login, dana, alice, alice_case, bob_case):
        response = login(dana).get(URL, {"client_id": alice_case.client_id})
        events = response.context["events"]
        assert events
        assert {e.client_id for e in events} == {alice_case.client_id}

    def test_filter_by_dates_in_the_agency_time_zone(self, login, dana, alice):
        # 02:00 UTC on 11 Jan is 10 Jan in Los Angeles.
        with time_machine.travel(datetime.datetime(2026, 1, 11, 2, 0, tzinfo=datetime.UTC)):
            late = record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        with time_machine.travel(datetime.datetime(2026, 1, 12, 20, 0, tzinfo=datetime.UTC)):
            later = record(actor=alice, action=Action.VIEW, object_type="case", object_id=2)
        signed_in = login(dana)
        response = signed_in.get(URL, {"date_from": "2026-01-10", "date_to": "2026-01-10"})
        assert shown(response) == [late.pk]
        response = signed_in.get(URL, {"date_from": "2026-01-11", "date_to": "2026-01-12"})
        assert shown(response) == [later.pk]

    @pytest.mark.parametrize(
        "params, field",
        [
            ({"date_from": "2026-02-30"}, "date_from"),
            ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
            ({"client_id": "abc"}, "client_id"),
            ({"client_id": "-3"}, "client_id"),
            ({"action": "delete_everything"}, "action"),
            ({"user": "x" * 200}, "user"),
        ],
    )
    def test_bad_filters_are_form_errors(self, login, dana, alice, params, field):
        record(actor=alice, action=Action.VIEW, object_type="case", object_id=1)
        response = login(dana).get(URL, params)
        assert response.status_code == 200
        assert response.context["form"].errors[field]
        assert shown(response) == []

    def test_pages_of_50(self, login, dana, alice):
        for n in range(55):
            record(actor=alice, action=Action.VIEW, object_type="case", object_id=n)
        signed_in = login(dana)
        assert len(shown(signed_in.get(URL, {"user": "alice"}))) == 50
        assert len(shown(signed_in.get(URL, {"user": "alice", "page": 2}))) == 5
        assert signed_in.get(URL, {"page": "x"}).context["page"].number == 1

    def test_query_count_does_not_grow_with_events(
        self, login, dana, alice, django_assert_max_num_queries
    ):
        signed_in = login(dana)
        for n in range(60):
            record(actor=alice, action=Action.VIEW, object_type="case", object_id=n, client_id=n)
        with django_assert_max_num_queries(10):  # +1: the inbox count in the nav
            response = signed_in.get(URL)
        assert len(shown(response)) == 50


@pytest.mark.django_db
class TestProviderLinkRows:
    def test_they_show_the_address_and_the_path_without_the_token(
        self, client, login, dana, alice, alice_case
    ):
        from tests.referrals.factories import sent_referral

        link = sent_referral(alice, alice_case).links.get()
        client.get(reverse("provider:link", args=[link.token()]), REMOTE_ADDR="198.51.100.7")
        client.get(reverse("provider:link", args=["nonsense"]), REMOTE_ADDR="198.51.100.8")

        response = login(dana).get(URL, {"action": Action.PROVIDER_LINK})
        (row,) = response.context["events"]
        assert (row.ip_address, row.path) == ("198.51.100.7", f"/p/{link.public_id}.***/")
        page = response.content.decode()
        assert '<td class="d-none d-md-table-cell">198.51.100.7</td>' in page
        assert f"/p/{link.public_id}.***/" in page
        assert link.token() not in page
        refused = AuditEvent.objects.get(action=Action.DENIED, object_type="providerlink")
        assert (refused.ip_address, refused.path) == ("198.51.100.8", "/p/***/")


@pytest.mark.django_db
class TestCountOfALongTrail:
    def test_it_counts_up_to_the_cap_and_says_more_than(self, login, dana, alice, monkeypatch):
        monkeypatch.setattr(views, "COUNT_AT_MOST", 5)
        for n in range(7):
            record(actor=alice, action=Action.VIEW, object_type="case", object_id=n)
        response = login(dana).get(URL, {"user": "alice"})
        assert response.context["page"].paginator.count == 6
        assert "More than 5 events" in response.content.decode()
        assert len(shown(response)) == 6

    def test_under_the_cap_it_gives_the_exact_count(self, login, dana, alice, monkeypatch):
        monkeypatch.setattr(views, "COUNT_AT_MOST", 5)
        for n in range(4):
            record(actor=alice, action=Action.VIEW, object_type="case", object_id=n)
        response = login(dana).get(URL, {"user": "alice"})
        assert "4 events" in response.content.decode()

    def test_the_admin_list_counts_no_further_either(self, login, root, alice, monkeypatch):
        monkeypatch.setattr(views, "COUNT_AT_MOST", 3)
        for n in range(5):
            record(actor=alice, action=Action.VIEW, object_type="case", object_id=n)
        response = login(root).get(reverse("admin:audit_auditevent_changelist"))
        assert response.status_code == 200
        assert response.context["cl"].result_count == 4
