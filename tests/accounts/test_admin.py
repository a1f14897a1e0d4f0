import pytest

from accounts.models import Role, User
from accounts.services import grant_agency_admin_permissions
from tests.accounts.factories import UserFactory


@pytest.fixture
def dana_admin(client, dana):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    return client


class TestAgencyAdminManagesOwnAgencyUsers:
    def test_the_user_list_shows_only_their_agency(self, dana_admin, alice, carol, root):
        response = dana_admin.get("/admin/accounts/user/")
        assert response.status_code == 200
        names = {u.username for u in response.context["cl"].queryset}
        assert "alice" in names
        assert "carol" not in names
        assert "root" not in names

    def test_another_agencys_user_is_not_found(self, dana_admin, carol):
        response = dana_admin.get(f"/admin/accounts/user/{carol.pk}/change/")
        assert response.status_code == 302  # the admin redirects "does not exist" to the index
        assert User.objects.get(pk=carol.pk).username == "carol"

    def test_cannot_make_a_system_admin(self, dana_admin, alice):
        form = dana_admin.get(f"/admin/accounts/user/{alice.pk}/change/").context["adminform"].form
        assert Role.SYSTEM_ADMIN not in dict(form.fields["role"].choices)
        assert "is_superuser" not in form.fields
        assert "user_permissions" not in form.fields

    def test_a_worker_has_no_admin(self, client, alice):
        client.force_login(alice)
        response = client.get("/admin/accounts/user/")
        assert response.status_code == 302


class TestSystemAdmin:
    def test_sees_every_agency(self, client, root, alice, carol):
        client.force_login(root)
        response = client.get("/admin/accounts/user/")
        names = {u.username for u in response.context["cl"].queryset}
        assert {"alice", "carol", "root"} <= names


def test_only_agency_admins_get_agency_admin_permissions(db):
    worker = UserFactory(role=Role.SOCIAL_WORKER)
    with pytest.raises(ValueError):
        grant_agency_admin_permissions(user=worker)


class TestAdminChangesAreAudited:
    def test_an_agency_admin_cannot_change_her_own_role(self, dana_admin, dana):
        form = dana_admin.get(f"/admin/accounts/user/{dana.pk}/change/").context["adminform"].form
        assert "role" not in form.fields
        assert "supervised_teams" not in form.fields

    def test_a_role_change_writes_an_audit_row(self, dana_admin, dana, alice):
        from audit.models import Action, AuditEvent

        page = dana_admin.get(f"/admin/accounts/user/{alice.pk}/change/")
        data = {
            name: value
            for name, value in page.context["adminform"].form.initial.items()
            if value is not None and name not in ("password", "last_login", "date_joined")
        }
        data.update(
            {"role": "supervisor", "team": alice.team_id, "supervised_teams": [alice.team_id]}
        )
        response = dana_admin.post(f"/admin/accounts/user/{alice.pk}/change/", data)
        assert response.status_code == 302, response.context["adminform"].form.errors
        alice.refresh_from_db()
        assert alice.role == "supervisor"
        row = AuditEvent.objects.get(
            action=Action.UPDATE, object_type="user", object_id=str(alice.pk)
        )
        assert row.actor == dana
        assert "Role" in row.detail["admin"]


class TestAgencyAdminSetsTheirAgencysPlanSettings:
    def test_they_see_only_their_agency(self, dana_admin, agency_a, agency_b):
        response = dana_admin.get("/admin/accounts/agency/")
        assert [a.pk for a in response.context["cl"].queryset] == [agency_a.pk]
        assert dana_admin.get(f"/admin/accounts/agency/{agency_b.pk}/change/").status_code == 302

    def test_they_change_the_crisis_line_and_review_interval_only(self, dana_admin, agency_a):
        url = f"/admin/accounts/agency/{agency_a.pk}/change/"
        form = dana_admin.get(url).context["adminform"].form
        assert set(form.fields) == {"crisis_line", "crisis_plan_review_days"}
        response = dana_admin.post(
            url,
            {"crisis_line": "541-555-0100", "crisis_plan_review_days": "60", "name": "Renamed"},
        )
        assert response.status_code == 302
        agency_a.refresh_from_db()
        assert (agency_a.crisis_line, agency_a.crisis_plan_review_days) == ("541-555-0100", 60)
        assert agency_a.name != "Renamed"

    def test_an_interval_out_of_range_is_refused(self, dana_admin, agency_a):
        url = f"/admin/accounts/agency/{agency_a.pk}/change/"
        response = dana_admin.post(url, {"crisis_line": "", "crisis_plan_review_days": "1"})
        assert response.status_code == 200
        assert "crisis_plan_review_days" in response.context["adminform"].form.errors

    def test_they_cannot_add_or_delete_agencies(self, dana_admin, agency_a):
        assert dana_admin.get("/admin/accounts/agency/add/").status_code == 403
        assert dana_admin.get(f"/admin/accounts/agency/{agency_a.pk}/delete/").status_code == 403
