"""The read-only referrals admin: agency admins, their own agency only, every read audited."""

import pytest

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from referrals.models import Referral
from tests.referrals.factories import sent_referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana_admin(client, dana):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    return client


@pytest.fixture
def referrals(alice, alice_case, carol, carol_case):
    return sent_referral(alice, alice_case), sent_referral(carol, carol_case)


@pytest.mark.parametrize("model", ["referral", "consent", "disclosure"])
def test_the_agency_admin_lists_only_her_agencys_rows_and_it_is_audited(
    model, dana_admin, dana, referrals
):
    ours, theirs = referrals
    response = dana_admin.get(f"/admin/referrals/{model}/")
    assert response.status_code == 200
    clients = {row.client_id for row in response.context["cl"].result_list}
    assert clients == {ours.client_id}
    assert AuditEvent.objects.filter(actor=dana, action=Action.LIST, object_type=model).exists()


def test_a_referral_reads_with_its_history_and_nothing_can_change(dana_admin, dana, referrals):
    ours, theirs = referrals
    response = dana_admin.get(f"/admin/referrals/referral/{ours.pk}/change/")
    assert response.status_code == 200
    assert b"Save" not in response.content
    assert AuditEvent.objects.filter(
        actor=dana, action=Action.VIEW, object_type="referral", object_id=str(ours.pk)
    ).exists()
    response = dana_admin.post(
        f"/admin/referrals/referral/{ours.pk}/change/", {"status": "cancelled"}
    )
    assert response.status_code == 403
    assert dana_admin.get("/admin/referrals/referral/add/").status_code == 403
    assert dana_admin.get(f"/admin/referrals/referral/{ours.pk}/delete/").status_code == 403
    assert Referral.objects.get(pk=ours.pk).status == "requested"


def test_another_agencys_referral_is_not_found(dana_admin, referrals):
    ours, theirs = referrals
    response = dana_admin.get(f"/admin/referrals/referral/{theirs.pk}/change/")
    assert response.status_code == 302  # the admin redirects "does not exist" to the index


def test_the_system_admin_sees_no_client_data(client, root, referrals):
    client.force_login(root)
    assert client.get("/admin/referrals/referral/").status_code == 403
    assert client.get(f"/admin/referrals/referral/{referrals[0].pk}/change/").status_code == 403


def test_a_worker_has_no_admin(client, alice, referrals):
    client.force_login(alice)
    assert client.get("/admin/referrals/referral/").status_code == 302
