import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import Action, AuditEvent
from cases.models import Client, ReminderChannel
from notifications import services, tasks
from notifications.models import DeliveryStatus, Kind, Notification
from tests.accounts.factories import UserFactory
from tests.notifications.conftest import followup_on, remind_by

INBOX = reverse("notifications:inbox")
DELIVERIES = reverse("notifications:deliveries")


def mark_read_url(n):
    return reverse("notifications:mark_read", args=[n.pk])


def due_notice(case):
    """The in-app 'fell due' notice of a new follow-up on `case`, to its worker."""
    services.followup_fell_due(followup_on(case))
    return Notification.objects.filter(kind=Kind.FOLLOWUP_DUE).latest("pk")


class TestInbox:
    def test_it_shows_only_my_notifications_newest_first(self, login, alice_case, bob_case):
        mine_first = due_notice(alice_case)
        mine_second = due_notice(alice_case)
        bobs = due_notice(bob_case)
        response = login(alice_case.assigned_worker).get(INBOX)
        assert response.status_code == 200
        assert response.context["notifications"] == [mine_second, mine_first]
        assert bobs.body not in response.content.decode()
        assert b"Alice Client" in response.content

    def test_unread_ones_stand_out(self, login, alice, alice_case):
        unread = due_notice(alice_case)
        read = due_notice(alice_case)
        Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
        html = login(alice).get(INBOX).content.decode()
        assert f'id="notification-{unread.pk}"' in html
        unread_row = html.split(f'id="notification-{unread.pk}"')[0].rsplit("<div", 1)[1]
        read_row = html.split(f'id="notification-{read.pk}"')[0].rsplit("<div", 1)[1]
        assert "unread" in unread_row
        assert "unread" not in read_row

    def test_the_list_read_is_audited(self, login, alice, alice_case):
        n = due_notice(alice_case)
        login(alice).get(INBOX)
        event = AuditEvent.objects.get(actor=alice, action=Action.LIST, object_type="notification")
        assert event.detail["ids"] == [n.pk]
        assert event.detail["client_ids"] == [alice_case.client_id]

    def test_carol_never_sees_agency_a(self, login, carol, carol_case, alice_case):
        due_notice(alice_case)
        carols = due_notice(carol_case)
        response = login(carol).get(INBOX)
        assert response.context["notifications"] == [carols]
        assert b"Alice Client" not in response.content

    def test_pages_run_a_fixed_number_of_queries(
        self, login, alice, alice_case, django_assert_max_num_queries
    ):
        for _ in range(30):
            due_notice(alice_case)
        client = login(alice)
        with django_assert_max_num_queries(11):
            response = client.get(INBOX)
        assert len(response.context["notifications"]) == 25
        with django_assert_max_num_queries(11):
            assert len(client.get(INBOX, {"page": 2}).context["notifications"]) == 5

    def test_garbage_page_numbers_are_not_errors(self, login, alice):
        for page in ["abc", "-1", "99999999999999999999", "1\x00"]:
            assert login(alice).get(INBOX, {"page": page}).status_code == 200

    def test_the_system_admin_has_no_inbox(self, login, root):
        assert login(root).get(INBOX).status_code == 403

    def test_it_needs_a_login(self, client):
        assert client.get(INBOX).status_code == 302


class TestMarkRead:
    def test_it_marks_my_notification_read(self, login, alice, alice_case):
        n = due_notice(alice_case)
        response = login(alice).post(mark_read_url(n))
        assert response.status_code == 302
        n.refresh_from_db()
        assert n.read_at is not None

    def test_htmx_gets_the_row_back(self, login, alice, alice_case):
        n = due_notice(alice_case)
        response = login(alice).post(mark_read_url(n), HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        html = response.content.decode()
        assert f'id="notification-{n.pk}"' in html
        assert "Mark read" not in html

    @pytest.mark.parametrize("persona", ["bob", "sam", "dana", "carol"])
    def test_anyone_elses_is_404_and_audited(self, request, login, alice_case, persona):
        n = due_notice(alice_case)
        user = request.getfixturevalue(persona)
        assert login(user).post(mark_read_url(n)).status_code == 404
        n.refresh_from_db()
        assert n.read_at is None
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_type="notification", object_id=str(n.pk)
        ).exists()

    def test_it_is_post_only(self, login, alice, alice_case):
        n = due_notice(alice_case)
        assert login(alice).get(mark_read_url(n)).status_code == 405

    def test_mark_all_read_touches_only_mine(self, login, alice, bob, alice_case, bob_case):
        due_notice(alice_case)
        due_notice(alice_case)
        bobs = due_notice(bob_case)
        response = login(alice).post(reverse("notifications:mark_all_read"))
        assert response.status_code == 302
        assert not Notification.objects.inbox_of(alice).unread().exists()
        bobs.refresh_from_db()
        assert bobs.read_at is None

    def test_mark_all_read_by_htmx_reloads_the_page(self, login, alice, alice_case):
        due_notice(alice_case)
        response = login(alice).post(reverse("notifications:mark_all_read"), HTTP_HX_REQUEST="true")
        assert response["HX-Refresh"] == "true"
        assert not Notification.objects.inbox_of(alice).unread().exists()


class TestDeliveries:
    @pytest.fixture(autouse=True)
    def _before_the_sweep(self, time_machine):
        """The reminders are made on 10 Jan 2027, before the sweep of the 14th below,
        whatever the clock says."""
        time_machine.move_to(datetime.datetime(2027, 1, 10, 3, 30, tzinfo=datetime.UTC))

    @pytest.fixture
    def failed(self, alice_case, erin_case, carol_case):
        """A text reminder that did not go out on each of alice's (team_a), erin's
        (team_a2) and carol's (agency B) cases."""
        out = {}
        for name, case in [("alice", alice_case), ("erin", erin_case), ("carol", carol_case)]:
            remind_by(case.client, ReminderChannel.TEXT, phone="541-555-0177")
            # The number is gone under the rule that text reminders need one (data
            # recorded before it): the reminder fails at once.
            Client.objects.filter(pk=case.client_id).update(phone="")
            services.followup_fell_due(followup_on(case))
            out[name] = Notification.objects.get(kind=Kind.CLIENT_REMINDER, client=case.client)
        with time_machine.travel(datetime.datetime(2027, 1, 14, 20, 0, tzinfo=datetime.UTC)):
            tasks.sweep()
        for row in out.values():
            row.refresh_from_db()
            assert row.status == DeliveryStatus.FAILED
        return out

    def shown(self, response):
        return {row.pk for row in response.context["deliveries"]}

    def test_the_supervisor_sees_their_teams_failed_reminders(self, login, sam, failed):
        response = login(sam).get(DELIVERIES, {"status": "failed"})
        assert response.status_code == 200
        assert self.shown(response) == {failed["alice"].pk}
        html = response.content.decode()
        assert "no phone number to text" in html
        assert "Alice Client" in html

    def test_the_agency_admin_sees_the_whole_agency(self, login, dana, failed):
        response = login(dana).get(DELIVERIES)
        assert self.shown(response) == {failed["alice"].pk, failed["erin"].pk}

    def test_another_agencys_admin_sees_only_theirs(self, login, carol, failed):
        admin_b = UserFactory(username="ben", agency=carol.agency, role=Role.AGENCY_ADMIN)
        response = login(admin_b).get(DELIVERIES)
        assert self.shown(response) == {failed["carol"].pk}
        assert b"Alice Client" not in response.content

    @pytest.mark.parametrize("persona", ["alice", "erin", "carol", "root"])
    def test_workers_and_system_admins_are_refused(self, request, login, persona):
        user = request.getfixturevalue(persona)
        assert login(user).get(DELIVERIES).status_code == 403
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_type="notification_deliveries"
        ).exists()

    def test_client_addresses_are_masked(self, login, dana, alice_case, sms_outbox):
        remind_by(alice_case.client, ReminderChannel.TEXT, phone="541-555-0177")
        services.followup_fell_due(followup_on(alice_case))
        html = login(dana).get(DELIVERIES).content.decode()
        assert "••• ••77" in html
        assert "555-0177" not in html
        assert "5550177" not in html

    def test_the_list_is_audited_with_its_clients(self, login, sam, failed, alice_case):
        login(sam).get(DELIVERIES, {"status": "failed"})
        event = AuditEvent.objects.get(actor=sam, action=Action.LIST, object_type="notification")
        assert event.detail["ids"] == [failed["alice"].pk]
        assert event.detail["client_ids"] == [alice_case.client_id]
        assert event.detail["status"] == "failed"

    def test_filters(self, login, dana, failed, alice_case, sms_outbox):
        remind_by(alice_case.client, ReminderChannel.TEXT, phone="541-555-0177")
        services.followup_fell_due(followup_on(alice_case))
        client = login(dana)
        queued = self.shown(client.get(DELIVERIES, {"status": "queued"}))
        assert len(queued) == 1
        assert queued.isdisjoint(self.shown(client.get(DELIVERIES, {"status": "failed"})))
        assert self.shown(client.get(DELIVERIES, {"to": "staff"})) == set()
        assert len(self.shown(client.get(DELIVERIES, {"channel": "text"}))) == 3

    def test_bad_filters_are_form_errors_not_500s(self, login, dana, failed):
        for value in ["nonsense", "x" * 10_000, "a\x00b"]:
            response = login(dana).get(DELIVERIES, {"status": value, "page": value})
            assert response.status_code == 200
            assert response.context["form"].errors
            assert len(response.context["deliveries"]) == 2

    def test_a_fixed_number_of_queries(
        self, login, dana, alice_case, bob_case, django_assert_max_num_queries
    ):
        for case in (alice_case, bob_case):
            remind_by(case.client, ReminderChannel.TEXT, phone="541-555-0177")
        for _ in range(15):
            services.followup_fell_due(followup_on(alice_case))
            services.followup_fell_due(followup_on(bob_case))
        client = login(dana)
        with django_assert_max_num_queries(11):
            response = client.get(DELIVERIES)
        assert len(response.context["deliveries"]) == 30
