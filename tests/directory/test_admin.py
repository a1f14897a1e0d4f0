import pytest

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from directory.models import Organization, Phone, Service
from tests.directory.factories import OrganizationFactory, PhoneFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana_admin(client, dana):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    return client


@pytest.fixture
def root_admin(client, root):
    client.force_login(root)
    return client


@pytest.fixture
def rows(agency_a, agency_b):
    """A shared service, agency A's own and agency B's own."""
    return {
        "shared": ServiceFactory(name="Shared shelter"),
        "own": ServiceFactory(name="Agency A outreach", agency=agency_a),
        "other": ServiceFactory(name="Agency B pantry", agency=agency_b),
    }


def service_form(organization, **overrides):
    data = {
        "organization": organization.pk,
        "name": "Walk-in counselling",
        "status": "active",
        "description": "Same-day counselling.",
    }
    for prefix in ["phones", "schedules", "languages", "service_areas", "at_locations"]:
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(overrides)
    return data


class TestAgencyAdmin:
    def test_the_list_shows_shared_and_own_rows_never_another_agencys(self, dana_admin, rows):
        response = dana_admin.get("/admin/directory/service/")

        assert response.status_code == 200
        names = {s.name for s in response.context["cl"].queryset}
        assert names == {"Shared shelter", "Agency A outreach"}

    def test_another_agencys_row_is_not_found(self, dana_admin, rows):
        response = dana_admin.get(f"/admin/directory/service/{rows['other'].pk}/change/")
        assert response.status_code == 302  # the admin redirects "does not exist"

    def test_a_shared_row_is_read_only(self, dana_admin, rows):
        shared = rows["shared"]
        url = f"/admin/directory/service/{shared.pk}/change/"

        page = dana_admin.get(url)
        response = dana_admin.post(url, service_form(shared.organization, name="Hijacked"))

        assert page.status_code == 200
        assert not page.context["has_change_permission"]
        assert response.status_code == 403
        shared.refresh_from_db()
        assert shared.name == "Shared shelter"

    def test_an_own_row_is_editable_and_the_change_audited(self, dana_admin, rows, agency_a):
        own = rows["own"]

        response = dana_admin.post(
            f"/admin/directory/service/{own.pk}/change/",
            service_form(own.organization, name="Renamed outreach"),
        )

        assert response.status_code == 302
        own.refresh_from_db()
        assert own.name == "Renamed outreach"
        assert own.agency == agency_a
        event = AuditEvent.objects.get(action=Action.UPDATE, object_id=str(own.pk))
        assert event.agency_id == agency_a.pk

    def test_a_new_row_is_the_agencys_own_with_its_inlines(self, dana_admin, agency_a):
        organization = OrganizationFactory(agency=agency_a)
        data = service_form(
            organization,
            **{
                "phones-TOTAL_FORMS": "1",
                "phones-0-number": "541-555-0199",
                "phones-0-type": "voice",
            },
        )

        response = dana_admin.post("/admin/directory/service/add/", data)

        assert response.status_code == 302
        service = Service.objects.get(name="Walk-in counselling")
        assert service.agency == agency_a
        assert Phone.objects.get(service=service).agency == agency_a

    def test_cannot_file_a_service_under_another_agencys_organization(self, dana_admin, agency_b):
        theirs = OrganizationFactory(agency=agency_b)

        response = dana_admin.post("/admin/directory/service/add/", service_form(theirs))

        assert response.status_code == 200
        assert "organization" in response.context["adminform"].form.errors
        assert not Service.objects.filter(name="Walk-in counselling").exists()

    def test_no_inline_rows_can_be_added_under_a_shared_row(self, dana_admin, rows):
        page = dana_admin.get(f"/admin/directory/service/{rows['shared'].pk}/change/")
        assert all(
            not formset.has_add_permission for formset in page.context["inline_admin_formsets"]
        )

    def test_short_text_fields_are_single_line(self, dana_admin):
        form = dana_admin.get("/admin/directory/service/add/").context["adminform"].form
        assert form.fields["name"].widget.input_type == "text"
        assert form.fields["description"].widget.__class__.__name__ == "AdminTextareaWidget"
        assert "agency" not in form.fields

    def test_a_phone_of_another_agency_is_not_listed(self, dana_admin, rows):
        PhoneFactory(service=rows["other"], agency=rows["other"].agency, number="303-555-0000")
        PhoneFactory(service=rows["own"], agency=rows["own"].agency, number="541-555-0001")

        response = dana_admin.get("/admin/directory/phone/")

        assert {p.number for p in response.context["cl"].queryset} == {"541-555-0001"}


class TestSystemAdmin:
    def test_edits_the_shared_directory(self, root_admin, rows):
        shared = rows["shared"]

        response = root_admin.post(
            f"/admin/directory/service/{shared.pk}/change/",
            service_form(shared.organization, name="Shared shelter (winter)"),
        )

        assert response.status_code == 302
        shared.refresh_from_db()
        assert shared.name == "Shared shelter (winter)"
        assert shared.agency_id is None

    def test_adds_to_the_shared_directory(self, root_admin):
        response = root_admin.post(
            "/admin/directory/organization/add/",
            {"name": "County Health", "description": "The county."},
        )

        assert response.status_code == 302
        assert Organization.objects.get(name="County Health").agency_id is None

    def test_does_not_see_agency_rows(self, root_admin, rows):
        response = root_admin.get("/admin/directory/service/")
        assert {s.name for s in response.context["cl"].queryset} == {"Shared shelter"}


def test_a_worker_has_no_directory_admin(client, alice):
    client.force_login(alice)
    assert client.get("/admin/directory/service/").status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "organization",
        "service",
        "location",
        "serviceatlocation",
        "address",
        "contact",
        "phone",
        "schedule",
        "taxonomy",
        "taxonomyterm",
        "attribute",
        "language",
        "servicearea",
        "hsdsrecord",
    ],
)
def test_every_list_and_add_page_opens(dana_admin, rows, path):
    assert dana_admin.get(f"/admin/directory/{path}/").status_code == 200
    assert dana_admin.get(f"/admin/directory/{path}/add/").status_code == 200


class TestNames:
    def test_the_admin_says_addresses(self, root_admin):
        html = root_admin.get("/admin/").content.decode()

        assert "Addresses" in html
        assert "Addresss" not in html
