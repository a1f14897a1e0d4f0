"""Directory pages: search from a phone, a service's page, and editing by admins."""

import datetime
import re

import pytest
from django.urls import reverse

from accounts.models import Role
from audit.models import Action, AuditEvent
from audit.services import search_digest
from directory.models import (
    Address,
    Attribute,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
)
from tests.accounts.factories import UserFactory
from tests.conftest import new_client
from tests.directory.factories import (
    AddressFactory,
    AttributeFactory,
    ContactFactory,
    LanguageFactory,
    LocationFactory,
    OrganizationFactory,
    PhoneFactory,
    ScheduleFactory,
    ServiceAtLocationFactory,
    ServiceFactory,
    need_term,
    tag_service,
)

pytestmark = pytest.mark.django_db
SEARCH = reverse("directory:search")


def located_service(name, lat=44.1, lng=-123.0, agency=None, **fields):
    service = ServiceFactory(name=name, agency=agency, **fields)
    location = LocationFactory(latitude=lat, longitude=lng, agency=agency)
    AddressFactory(location=location, postal_code="97401")
    PhoneFactory(service=service, number="541 555 0199")
    LanguageFactory(service=service)
    ScheduleFactory(service=service)
    tag_service(service, "housing")
    ServiceAtLocationFactory(service=service, location=location)
    return service


class TestSearchPage:
    def test_cards_with_distance_phone_and_languages(self, login, alice):
        located_service("Night shelter", eligibility_description="Adults 18+")
        response = login(alice).get(SEARCH, {"need": "housing", "near": "44.0,-123.0"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "Night shelter" in page
        assert "11.1 km" in page
        assert 'href="tel:5415550199"' in page
        assert "Spanish" in page
        assert "Adults 18+" in page

    def test_cards_name_the_need_in_words(self, login, alice):
        located_service("Night shelter")
        response = login(alice).get(SEARCH, {"need": "housing"}, HTTP_HX_REQUEST="true")
        assert b"Housing and shelter</span>" in response.content

    def test_htmx_gets_only_the_results(self, login, alice):
        located_service("Night shelter")
        response = login(alice).get(SEARCH, {"q": "night"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert b"Night shelter" in response.content
        assert b"<html" not in response.content

    def test_one_search_audit_row_noting_the_case(self, login, alice, alice_case):
        located_service("Night shelter")
        login(alice).get(SEARCH, {"q": "night", "case": alice_case.pk})
        event = AuditEvent.objects.get(action=Action.SEARCH, object_type="service")
        assert event.actor == alice
        # What was typed beside a case may name the client's need: the trail keeps its
        # keyed digest, which finds the search without showing the words.
        assert event.detail["q"] == search_digest("night")
        assert event.detail["case_id"] == alice_case.pk
        assert len(event.detail["service_ids"]) == 1

    def test_refer_button_only_for_a_visible_case(self, login, alice, alice_case, carol_case):
        service = located_service("Night shelter")
        location = service.at_locations.get().location
        client = login(alice)
        page = client.get(SEARCH, {"case": alice_case.pk}).content.decode()
        assert f"case #{alice_case.pk}" in page
        link = (
            f"{reverse('referrals:new')}?case={alice_case.pk}"
            f"&amp;service={service.pk}&amp;location={location.pk}"
        )
        assert f'href="{link}">Refer</a>' in page
        detail = client.get(
            reverse("directory:service_detail", args=[service.pk]), {"case": alice_case.pk}
        ).content.decode()
        # The service's only need goes with the referral.
        assert f'href="{link}&amp;need=housing">Refer</a>' in detail
        # Searching by need passes the need on to the referral.
        page = client.get(SEARCH, {"case": alice_case.pk, "need": "housing"}).content.decode()
        assert f'href="{link}&amp;need=housing">Refer</a>' in page
        other = client.get(SEARCH, {"case": carol_case.pk}).content.decode()
        assert f"case #{carol_case.pk}" not in other
        assert "Refer</a>" not in other

    def test_refer_from_a_services_page_carries_the_need_searched_for(
        self, login, alice, alice_case
    ):
        service = located_service("Drop-in centre")
        tag_service(service, "food")  # two needs: the page cannot guess which
        client = login(alice)
        page = client.get(SEARCH, {"case": alice_case.pk, "need": "food"}).content.decode()
        detail_url = reverse("directory:service_detail", args=[service.pk])
        assert f'href="{detail_url}?case={alice_case.pk}&amp;need=food"' in page

        detail = client.get(detail_url, {"case": alice_case.pk, "need": "food"})
        (refer,) = re.findall(r'href="([^"]*)">Refer</a>', detail.content.decode())
        assert refer.endswith("&amp;need=food")
        form = client.get(refer.replace("&amp;", "&")).context["form"]
        # Send is not stopped by the browser's bubble on an empty required need.
        assert form["need_category"].value() == "food"

        without = client.get(detail_url, {"case": alice_case.pk}).content.decode()
        assert "need=" not in re.findall(r'href="([^"]*)">Refer</a>', without)[0]
        odd = client.get(detail_url, {"case": alice_case.pk, "need": "<x>"}).content.decode()
        assert "need=" not in re.findall(r'href="([^"]*)">Refer</a>', odd)[0]

    def test_opened_from_a_case_it_searches_for_the_clients_language_and_age(
        self, login, alice, record_contact_for
    ):
        case = record_contact_for(
            alice,
            new_client_data=new_client(
                legal_name="Ana Ruiz",
                preferred_language="Spanish",
                date_of_birth=datetime.date(2012, 1, 10),
            ),
        ).case
        spanish = located_service("Youth shelter", maximum_age=17)
        adults = located_service("Adult shelter", minimum_age=18)
        english = ServiceFactory(name="English only youth drop-in")
        client = login(alice)

        response = client.get(SEARCH, {"case": case.pk})
        form = response.context["form"]
        assert form["language"].value() == "Spanish"
        assert form["age"].value() == str(case.client.age)
        shown = [r.service for r in response.context["page"]]
        assert spanish in shown and adults not in shown and english not in shown

        # What the worker cleared stays cleared.
        response = client.get(SEARCH, {"case": case.pk, "language": "", "age": ""})
        assert response.context["form"]["language"].value() == ""
        assert adults in [r.service for r in response.context["page"]]
        # Not from a case: nothing is filled in.
        assert client.get(SEARCH).context["form"]["language"].value() is None

    def test_address_not_found_is_a_form_error(self, login, alice):
        response = login(alice).get(SEARCH, {"near": "Atlantis"})
        assert response.status_code == 200
        assert "Could not find that address" in response.content.decode()

    def test_other_agencys_services_never_listed(self, login, alice, carol):
        located_service("Agency B secret", agency=carol.agency)
        response = login(alice).get(SEARCH, {"q": "secret"})
        assert b"Agency B secret" not in response.content

    @pytest.mark.parametrize(
        "params",
        [
            {"age": "abc"},
            {"age": "-5"},
            {"need": "xyz"},
            {"lat": "999", "lng": "0"},
            {"lat": "1"},
            {"q": "a\x00b"},
            {"q": "x" * 5000},
            {"page": "abc"},
            {"page": "99999"},
            {"open_now": "maybe"},
            {"near": "x" * 5000},
            {"case": "abc"},
            {"case": "99999999999999999999999"},
            {"language": "'; drop table"},
        ],
    )
    def test_garbage_never_500(self, login, alice, params):
        located_service("Night shelter")
        assert login(alice).get(SEARCH, params).status_code == 200

    def test_query_count_does_not_grow_with_rows(self, login, alice, django_assert_max_num_queries):
        for n in range(25):
            located_service(f"Service {n}", lat=44 + n / 100)
        for n in range(5):
            ServiceFactory(name=f"Phone line {n}")
        client = login(alice)
        client.get(SEARCH)
        with django_assert_max_num_queries(24):
            response = client.get(SEARCH, {"near": "44,-123", "page": 2})
        assert response.status_code == 200
        with django_assert_max_num_queries(26):
            client.get(SEARCH, {"open_now": "on", "language": "es", "need": "housing"})


class TestServicePage:
    def test_everything_a_worker_needs(self, login, alice):
        service = located_service(
            "Night shelter",
            description="Beds for the night",
            minimum_age=18,
            fees_description="Free",
            application_process="Walk in",
        )
        ContactFactory(service=service, name="Intake desk", email="intake@shelter.example")
        response = login(alice).get(reverse("directory:service_detail", args=[service.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        for text in [
            "Beds for the night",
            "Free",
            "Walk in",
            "intake@shelter.example",
            "Mon, Tue, Wed, Thu, Fri 09:00–17:00",
            "https://www.openstreetmap.org/?mlat=44.1",
            "Spanish",
            "Housing and shelter",
        ]:
            assert text in page, text

    def test_another_agencys_service_is_404_and_audited(self, login, alice, carol):
        service = ServiceFactory(agency=carol.agency)
        response = login(alice).get(reverse("directory:service_detail", args=[service.pk]))
        assert response.status_code == 404
        event = AuditEvent.objects.get(action=Action.DENIED)
        assert event.object_id == str(service.pk)
        assert event.agency_id == carol.agency_id

    @pytest.mark.parametrize(
        "url", ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:x"]
    )
    def test_a_web_address_that_is_not_http_is_not_a_link(self, login, alice, url):
        # HSDS import accepts any URI, and the admin any text: neither may become a link
        # that runs script in the worker's session.
        service = ServiceFactory(url=url)
        response = login(alice).get(reverse("directory:service_detail", args=[service.pk]))
        page = response.content.decode()
        assert response.status_code == 200
        assert 'rel="noopener noreferrer" target="_blank">' not in page.split("Web</dt>")[1]
        assert 'href="javascript' not in page.lower()

    def test_an_http_web_address_is_a_link(self, login, alice):
        service = ServiceFactory(url="https://shelter.example/beds")
        response = login(alice).get(reverse("directory:service_detail", args=[service.pk]))
        assert 'href="https://shelter.example/beds"' in response.content.decode()


# --- Editing ----------------------------------------------------------------------------


@pytest.fixture
def bert(agency_b):
    """Agency B's admin."""
    return UserFactory(username="bert", agency=agency_b, role=Role.AGENCY_ADMIN)


MANAGE = reverse("directory:manage")


class TestEditingPermissions:
    @pytest.mark.parametrize(
        ("persona", "status"),
        [("alice", 403), ("sam", 403), ("carol", 403), ("dana", 200), ("root", 200)],
    )
    def test_manage_page(self, request, login, persona, status):
        user = request.getfixturevalue(persona)
        response = login(user).get(MANAGE)
        assert response.status_code == status
        denied = AuditEvent.objects.filter(action=Action.DENIED, actor=user).exists()
        assert denied == (status == 403)

    @pytest.mark.parametrize(
        ("persona", "owner", "status"),
        [
            ("dana", "agency_a", 200),
            ("dana", "shared", 403),
            ("dana", "agency_b", 404),
            ("root", "shared", 200),
            ("root", "agency_a", 404),
            ("bert", "agency_a", 404),
            ("alice", "agency_a", 403),
            ("sam", "shared", 403),
            ("carol", "agency_b", 403),
        ],
    )
    def test_edit_pages(self, request, login, dana, agency_a, agency_b, persona, owner, status):
        user = request.getfixturevalue(persona)
        agency = {"agency_a": agency_a, "agency_b": agency_b, "shared": None}[owner]
        service = ServiceFactory(agency=agency)
        location = LocationFactory(agency=agency)
        client = login(user)
        for url in [
            reverse("directory:service_edit", args=[service.pk]),
            reverse("directory:organization_edit", args=[service.organization.pk]),
            reverse("directory:location_edit", args=[location.pk]),
        ]:
            assert client.get(url).status_code == status, url
            posted = client.post(url, {"name": "Changed"}).status_code
            # Allowed: saved (302) or a form error (200).
            assert posted in ((200, 302) if status == 200 else (status,)), url
        if status != 200:
            assert Service.objects.get(pk=service.pk).name == service.name
            assert AuditEvent.objects.filter(action=Action.DENIED, actor=user).count() == 6


def create_peer_support_line(client, organization):
    """Post the new-service form as its editor would; the service it created."""
    response = client.post(
        reverse("directory:service_new"),
        {
            "organization": organization.pk,
            "name": "Peer support line",
            "status": "active",
            "minimum_age": "16",
            "need_categories": ["mental_health", "substance_use"],
            "languages": "en, Spanish, vi",
            "phone": "541-555-0123",
            "schedule_days": ["MO", "WE"],
            "opens_at": "09:00",
            "closes_at": "17:30",
        },
    )
    assert response.status_code == 302
    return Service.objects.get(name="Peer support line")


class TestEditing:
    def test_dana_creates_her_agencys_service(self, login, dana):
        organization = OrganizationFactory(agency=dana.agency, name="Agency A programs")
        service = create_peer_support_line(login(dana), organization)
        assert service.agency == dana.agency
        assert service.minimum_age == 16
        needs = Attribute.objects.filter(link_entity="service", link_id=service.pk)
        assert sorted(a.taxonomy_term.need_category for a in needs) == [
            "mental_health",
            "substance_use",
        ]
        assert sorted(Language.objects.filter(service=service).values_list("code", "name")) == [
            ("en", "English"),
            ("es", "Spanish"),
            ("vi", "Vietnamese"),
        ]
        assert Phone.objects.get(service=service).number == "541-555-0123"
        schedule = Schedule.objects.get(service=service)
        assert (schedule.byday, schedule.closes_at) == ("MO,WE", datetime.time(17, 30))
        assert AuditEvent.objects.filter(action=Action.CREATE, object_id=str(service.pk)).exists()

    def test_dana_changes_her_agencys_service(self, login, dana):
        organization = OrganizationFactory(agency=dana.agency, name="Agency A programs")
        client = login(dana)
        service = create_peer_support_line(client, organization)
        response = client.get(reverse("directory:service_edit", args=[service.pk]))
        assert response.status_code == 200
        edit = {
            "organization": organization.pk,
            "name": "Peer support line",
            "status": "temporarily closed",
            "need_categories": ["mental_health"],
            "languages": "es",
            "phone": "",
        }
        assert (
            client.post(reverse("directory:service_edit", args=[service.pk]), edit).status_code
            == 302
        )
        service.refresh_from_db()
        assert service.status == "temporarily closed"
        assert Attribute.objects.filter(link_id=service.pk).count() == 1
        assert not Phone.objects.filter(service=service).exists()
        assert not Schedule.objects.filter(service=service).exists()
        event = AuditEvent.objects.filter(action=Action.UPDATE, object_id=str(service.pk)).get()
        assert "status" in event.detail["changed"]

    def test_form_errors_re_render(self, login, dana):
        organization = OrganizationFactory(agency=dana.agency)
        shared = OrganizationFactory()
        client = login(dana)
        cases = [
            {"organization": organization.pk, "name": "X", "status": "active",
             "minimum_age": "30", "maximum_age": "20"},
            {"organization": shared.pk, "name": "X", "status": "active"},
            {"organization": organization.pk, "name": "", "status": "nope"},
            {"organization": organization.pk, "name": "X", "status": "active",
             "schedule_days": ["MO"]},
            {"organization": "not-a-uuid", "name": "X\x00", "status": "active"},
        ]  # fmt: skip
        for body in cases:
            response = client.post(reverse("directory:service_new"), body)
            assert response.status_code == 200, body
            assert b"invalid-feedback" in response.content or b"alert" in response.content
        assert not Service.objects.exists()

    def test_location_with_address_and_services(self, login, dana):
        mine = ServiceFactory(agency=dana.agency, name="Mine")
        shared = ServiceFactory(name="Shared")
        client = login(dana)
        body = {
            "name": "Downtown office",
            "address_1": "1 Main St",
            "city": "Eugene",
            "state_province": "OR",
            "postal_code": "97401",
            "country": "US",
            "latitude": "44.05",
            "longitude": "-123.09",
            "services": [mine.pk],
        }
        assert client.post(reverse("directory:location_new"), body).status_code == 302
        location = Location.objects.get(name="Downtown office")
        assert location.agency == dana.agency
        assert Address.objects.get(location=location).postal_code == "97401"
        assert list(ServiceAtLocation.objects.values_list("service__name", flat=True)) == ["Mine"]
        # A shared service cannot be linked by an agency admin.
        response = client.post(
            reverse("directory:location_edit", args=[location.pk]),
            {**body, "services": [mine.pk, shared.pk]},
        )
        assert response.status_code == 200
        assert ServiceAtLocation.objects.count() == 1
        # Latitude without longitude is a form error.
        response = client.post(
            reverse("directory:location_new"), {**body, "name": "Y", "longitude": ""}
        )
        assert response.status_code == 200
        assert not Location.objects.filter(name="Y").exists()

    def test_root_edits_the_shared_organization(self, login, root):
        organization = OrganizationFactory(name="Old name")
        response = login(root).post(
            reverse("directory:organization_edit", args=[organization.pk]),
            {"name": "New name", "description": "Updated"},
        )
        assert response.status_code == 302
        organization.refresh_from_db()
        assert organization.name == "New name"
        assert organization.agency is None
        created = login(root).post(
            reverse("directory:organization_new"), {"name": "Brand new", "description": "D"}
        )
        assert created.status_code == 302
        assert Organization.objects.get(name="Brand new").agency is None

    def test_root_editing_a_shared_row_leaves_an_agencys_own_rows_on_it_alone(
        self, login, root, agency_a
    ):
        # An agency may hang its own phone, language, hours and need tag on a shared
        # service (admin or import --agency), and link it at a shared location: those rows
        # are the agency's, so the system admin's form neither shows nor replaces them.
        organization = OrganizationFactory(name="Shared org")
        service = ServiceFactory(organization=organization, name="Shared shelter")
        location = LocationFactory(name="Shared place")
        PhoneFactory(service=service, agency=agency_a, number="541-555-0777")
        LanguageFactory(service=service, agency=agency_a, name="Somali", code="so")
        ScheduleFactory(service=service, agency=agency_a, byday="SA", opens_at=datetime.time(7))
        tag_service(ServiceFactory(agency=agency_a), "food")  # another row of agency A
        AttributeFactory(agency=agency_a, link_id=service.pk, taxonomy_term=need_term("food"))
        AddressFactory(location=location, agency=agency_a, address_1="9 Private Rd")
        ServiceAtLocationFactory(service=service, location=location, agency=agency_a)
        agency_rows = {
            model: set(model.objects.filter(agency=agency_a).values_list("pk", flat=True))
            for model in (Phone, Language, Schedule, Attribute, Address, ServiceAtLocation)
        }
        client = login(root)

        page = client.get(reverse("directory:service_edit", args=[service.pk])).content.decode()
        for private in ("541-555-0777", "Somali", 'value="food" checked', 'value="SA" checked'):
            assert private not in page, private
        page = client.get(reverse("directory:location_edit", args=[location.pk])).content
        assert b"9 Private Rd" not in page
        assert b"9 Private Rd" not in client.get(MANAGE).content

        edit = {"organization": organization.pk, "name": "Shared shelter", "status": "active"}
        response = client.post(reverse("directory:service_edit", args=[service.pk]), edit)
        assert response.status_code == 302
        body = {"name": "Shared place", "address_1": "1 Main St", "city": "Eugene", "services": []}
        response = client.post(reverse("directory:location_edit", args=[location.pk]), body)
        assert response.status_code == 302

        for model, pks in agency_rows.items():
            assert set(model.objects.filter(agency=agency_a).values_list("pk", flat=True)) == pks
        assert Address.objects.get(location=location, agency=None).address_1 == "1 Main St"
        assert Address.objects.get(location=location, agency=agency_a).address_1 == "9 Private Rd"

    @pytest.mark.parametrize("persona", ["dana", "root"])
    def test_manage_page_query_count_does_not_grow(
        self, request, login, persona, django_assert_max_num_queries
    ):
        user = request.getfixturevalue(persona)
        agency = user.agency

        def add_rows(n):
            for _ in range(n):
                service = ServiceFactory(agency=agency)
                location = LocationFactory(agency=agency, organization=service.organization)
                AddressFactory(location=location, agency=agency)

        add_rows(2)
        client = login(user)
        with django_assert_max_num_queries(12):
            assert client.get(MANAGE).status_code == 200
        add_rows(20)
        with django_assert_max_num_queries(12):
            response = client.get(MANAGE)
        assert len(response.context["locations"]) == 22
