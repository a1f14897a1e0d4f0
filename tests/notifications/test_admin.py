"""The read-only notifications admin: agency admins, their own agency only, audited."""

import pytest

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from notifications import services
from notifications.models import Notification
from tests.notifications.conftest import followup_on
from tests.referrals.factories import sent_referral

LIST = "/admin/notifications/notification/"


@pytest.fixture
def dana_admin(client, dana):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    return client


@pytest.fixture
def notices(alice_case, carol_case):
    services.followup_fell_due(followup_on(alice_case))
    services.followup_fell_due(followup_on(carol_case))
    ours = Notification.objects.get(agency=alice_case.agency)
    theirs = Notification.objects.get(agency=carol_case.agency)
    return ours, theirs


def test_the_agency_admin_lists_only_her_agencys_rows_audited(dana_admin, dana, notices):
    ours, _ = notices
    response = dana_admin.get(LIST)
    assert response.status_code == 200
    assert [n.pk for n in response.context["cl"].result_list] == [ours.pk]
    event = AuditEvent.objects.get(actor=dana, action=Action.LIST, object_type="notification")
    assert event.detail["client_ids"] == [ours.client_id]


def test_a_row_reads_but_nothing_changes(dana_admin, dana, notices):
    ours, theirs = notices
    page = f"{LIST}{ours.pk}/change/"
    response = dana_admin.get(page)
    assert response.status_code == 200
    assert b"Save" not in response.content
    assert AuditEvent.objects.filter(
        actor=dana, action=Action.VIEW, object_type="notification", object_id=str(ours.pk)
    ).exists()
    assert dana_admin.post(page, {"subject": "changed"}).status_code == 403
    assert dana_admin.get(f"{LIST}add/").status_code == 403
    assert dana_admin.get(f"{LIST}{ours.pk}/delete/").status_code == 403
    assert Notification.objects.get(pk=ours.pk).subject == ours.subject
    # Another agency's row is not there at all.
    assert dana_admin.get(f"{LIST}{theirs.pk}/change/").status_code == 302


def test_the_system_admin_sees_no_rows(client, root, notices):
    client.force_login(root)
    assert client.get(LIST).status_code == 403


def test_a_provider_link_email_is_listed_but_its_text_is_not_shown(dana_admin, alice, alice_case):
    """The email carries a link that works without an account until it expires."""
    referral = sent_referral(alice, alice_case)
    email = Notification.objects.get(pk=referral.links.get().notification_id)
    token_path = email.body.split("/p/", 1)[1].split()[0]
    response = dana_admin.get(f"{LIST}{email.pk}/change/")
    assert response.status_code == 200
    assert email.subject in response.content.decode()
    assert token_path not in response.content.decode()
