"""The attachments admin: the agency admin's own agency, read only, audited, and never a
way to the file."""

import pytest

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from tests.attachments.factories import attach

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana_admin(client, dana):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    return client


def test_the_agency_admin_lists_her_agencys_attachments_without_their_files(
    dana_admin, dana, alice, alice_case, carol, carol_case
):
    ours = attach(alice, case=alice_case)
    attach(carol, case=carol_case)

    listing = dana_admin.get("/admin/attachments/attachment/")
    record = dana_admin.get(f"/admin/attachments/attachment/{ours.pk}/change/")

    assert listing.status_code == 200
    assert [row.pk for row in listing.context["cl"].result_list] == [ours.pk]
    assert record.status_code == 200
    for page in (listing, record):
        html = page.content.decode()
        assert ours.file.name not in html
        assert "/file/" not in html
    assert AuditEvent.objects.filter(actor=dana, action=Action.LIST, object_type="attachment")
    assert AuditEvent.objects.filter(
        actor=dana, action=Action.VIEW, object_id=str(ours.pk), client_id=alice_case.client_id
    )
    assert dana_admin.post(f"/admin/attachments/attachment/{ours.pk}/delete/").status_code == 403


def test_the_system_admin_sees_no_attachment(client, root, alice, alice_case):
    attach(alice, case=alice_case)
    client.force_login(root)

    response = client.get("/admin/attachments/attachment/")

    assert response.status_code == 403
