"""The inbox and the notifications admin against probing and garbage: another agency's
notification answers 404 with its refusal in that agency's trail, state changes are
POST-only, and the admin's date drill-down refuses years it cannot handle."""

import pytest
from django.urls import reverse

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from notifications import services
from notifications.models import Notification
from tests.notifications.conftest import followup_on


@pytest.fixture
def notices(alice_case, carol_case):
    services.followup_fell_due(followup_on(alice_case))
    services.followup_fell_due(followup_on(carol_case))
    return (
        Notification.objects.get(agency=alice_case.agency),
        Notification.objects.get(agency=carol_case.agency),
    )


def test_another_agencys_notification_is_404_and_audited_in_its_trail(
    client, alice, carol, notices
):
    ours, theirs = notices
    client.force_login(alice)
    response = client.post(reverse("notifications:mark_read", args=[theirs.pk]))
    assert response.status_code == 404
    denied = AuditEvent.objects.get(actor=alice, action=Action.DENIED)
    assert denied.object_type == "notification"
    assert denied.object_id == str(theirs.pk)
    assert denied.agency_id == carol.agency_id
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_colleagues_notification_is_404(client, bob, notices):
    ours, _ = notices
    client.force_login(bob)
    assert client.post(reverse("notifications:mark_read", args=[ours.pk])).status_code == 404
    ours.refresh_from_db()
    assert ours.read_at is None


@pytest.mark.parametrize("name, args", [("mark_read", True), ("mark_all_read", False)])
def test_reading_is_post_only(client, alice, notices, name, args):
    ours, _ = notices
    client.force_login(alice)
    url = reverse(f"notifications:{name}", args=[ours.pk] if args else [])
    assert client.get(url).status_code == 405
    ours.refresh_from_db()
    assert ours.read_at is None


def test_mark_read_without_htmx_redirects_to_the_inbox(client, alice, notices):
    ours, _ = notices
    client.force_login(alice)
    response = client.post(reverse("notifications:mark_read", args=[ours.pk]))
    assert response.status_code == 302
    assert response.url == reverse("notifications:inbox")
    response = client.post(
        reverse("notifications:mark_read", args=[ours.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert b"<html" not in response.content


@pytest.mark.parametrize(
    "params",
    [
        {"created_at__year": "9999"},
        {"created_at__year": "9999", "created_at__month": "12"},
        {"created_at__year": "9999", "created_at__month": "12", "created_at__day": "31"},
        {"created_at__year": "\u0669\u0669\u0669\u0669"},  # 9999 in Arabic-Indic digits
        {"created_at__year": ["2026", "9999"]},
    ],
)
def test_admin_date_drilldown_at_the_end_of_the_calendar(client, dana, notices, params):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    response = client.get("/admin/notifications/notification/", params)
    assert response.status_code == 302
    assert response.url.endswith("?e=1")
    assert client.get(response.url).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"created_at__year": "9998", "created_at__month": "12", "created_at__day": "31"},
        {"created_at__year": "abc"},
        {"created_at__year": "1", "created_at__month": "1", "created_at__day": "1"},
        {"o": "99"},
        {"p": "999999"},
    ],
)
def test_admin_other_garbage_never_500s(client, dana, notices, params):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    assert client.get("/admin/notifications/notification/", params).status_code in (200, 302)


@pytest.mark.parametrize("params", [{"status": "\x00"}, {"channel": "a\x00"}, {"x\x00": "1"}])
def test_admin_filters_with_nul_are_refused_as_bad_filters(client, dana, notices, params):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    response = client.get("/admin/notifications/notification/", params)
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"channel": "\x00"},
        {"to": ["client", "staff"]},
        {"page": "999999"},
        {"page": "-1"},
        {"page": "x" * 10_000},
    ],
)
def test_deliveries_garbage(client, sam, notices, params):
    client.force_login(sam)
    assert client.get(reverse("notifications:deliveries"), params).status_code == 200


def test_inbox_page_garbage(client, alice, notices):
    client.force_login(alice)
    for page in ("999999", "-1", "abc", "\x00", "9" * 500):
        assert client.get(reverse("notifications:inbox"), {"page": page}).status_code == 200
