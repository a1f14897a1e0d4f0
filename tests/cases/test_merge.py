"""Merging two records of one person (services.merge_clients and its pages)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from attachments.models import Attachment
from audit.models import Action, AuditEvent
from cases import services
from cases.exceptions import MergeRefused
from cases.models import Case, CaseEventKind, Client, ClientIdentifier, Contact
from core.exceptions import NotPermitted
from dispatch.models import TeamRequest
from followups.models import HospitalVisit, VisitReason
from notifications.models import Channel, Kind, Notification
from plans.models import CrisisPlan, SafetyPlan
from referrals.models import Consent, Disclosure, Referral
from tests.attachments.factories import attach
from tests.cases.factories import ClientFactory
from tests.conftest import new_client
from tests.dispatch.factories import TeamRequestFactory
from tests.plans.factories import make_approved_crisis_plan, make_safety_plan
from tests.referrals.factories import DisclosureFactory


@pytest.fixture
def pair(alice, bob, sam, record_contact_for):
    """The same person entered twice: Marcus Bell (alice's case, still open) and
    "Marcus Bel" (bob's case, closed), each with their own history."""
    survivor = record_contact_for(
        alice,
        new_client_data=new_client(
            legal_name="Marcus Bell", phone="", date_of_birth=None, estimated_age=39
        ),
    ).client
    contact = record_contact_for(
        bob,
        new_client_data=new_client(
            legal_name="Marcus Bel", phone="541-555-0999", date_of_birth=datetime.date(1987, 3, 2)
        ),
    )
    duplicate = contact.client
    make_safety_plan(bob, contact.case)
    make_approved_crisis_plan(bob, sam, contact.case)
    services.close_case(actor=bob, case=contact.case, reason="stabilised")
    ClientIdentifier.objects.create(
        agency=duplicate.agency, client=duplicate, kind="hmis", value="HM-77"
    )
    DisclosureFactory(referral__case=contact.case)  # a referral, its consent and disclosure
    HospitalVisit.objects.create(
        agency=duplicate.agency,
        case=contact.case,
        client=duplicate,
        reason=VisitReason.MENTAL_HEALTH,
        arrived_at=timezone.now() - datetime.timedelta(days=3),
        recorded_by=bob,
    )
    Notification.objects.create(
        agency=duplicate.agency,
        kind=Kind.values[0],
        channel=Channel.TEXT,
        client=duplicate,
        subject="Reminder",
        body="A call is coming",
        dedupe_key="merge-test",
    )
    TeamRequestFactory(agency=duplicate.agency, client=duplicate)  # a request naming them
    attach(bob, case=contact.case, label="ID card")  # a photo of their ID
    return survivor, duplicate


def client_relations():
    """Every foreign key to Client, in every app."""
    return [
        f
        for f in Client._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]


class TestMergeClients:
    def test_every_row_naming_the_duplicate_moves_to_the_survivor(self, dana, pair):
        survivor, duplicate = pair
        relations = client_relations()
        names = {r.related_model._meta.label_lower for r in relations}
        # The tables this test fills: a new foreign key to Client must be added here.
        assert {
            "cases.case",
            "cases.contact",
            "cases.clientidentifier",
            "referrals.consent",
            "referrals.referral",
            "referrals.disclosure",
            "followups.hospitalvisit",
            "notifications.notification",
            "dispatch.teamrequest",
            "attachments.attachment",
            "plans.safetyplan",
            "plans.crisisplan",
            "cases.client",
        } == names

        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)

        for relation in relations:
            name = relation.field.name
            left = relation.related_model._base_manager.filter(**{name: duplicate})
            assert not left.exists(), relation.related_model
        models = [Case, Contact, Referral, Consent, Disclosure, HospitalVisit, Notification]
        models += [TeamRequest, Attachment, SafetyPlan, CrisisPlan]
        assert {m.__name__: m.objects.filter(client=survivor).count() for m in models} == {
            **{m.__name__: 1 for m in models[2:]},
            "Case": 2,
            "Contact": 2,
            # The text reminder, and sam's notice that the crisis plan waited for him.
            "Notification": 2,
        }
        assert list(survivor.identifiers.values_list("value", flat=True)) == ["HM-77"]

    def test_a_survivors_own_plans_stay_and_the_duplicates_are_kept_on_it(
        self, dana, alice, sam, pair
    ):
        survivor, duplicate = pair
        mine = make_safety_plan(alice, survivor.cases.get()).plan
        ours = make_approved_crisis_plan(alice, sam, survivor.cases.get())

        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)

        assert SafetyPlan.objects.get(client=survivor) == mine
        assert list(CrisisPlan.objects.filter(client=survivor)) == [ours]
        assert SafetyPlan.objects.filter(client=duplicate).count() == 1
        assert CrisisPlan.objects.filter(client=duplicate).count() == 1
        merged = AuditEvent.objects.filter(action=Action.MERGE).last()
        assert len(merged.detail["identifiers_kept_on_merged_record"]) == 2

    def test_the_duplicate_is_kept_pointing_to_the_survivor(self, dana, pair):
        survivor, duplicate = pair
        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)
        duplicate.refresh_from_db()
        assert duplicate.merged_into == survivor
        assert duplicate.merged_at is not None
        assert duplicate.legal_name == "Marcus Bel"
        assert list(Client.objects.active().filter(pk__in=[survivor.pk, duplicate.pk])) == [
            survivor
        ]

    def test_the_survivor_takes_the_details_it_lacks(self, dana, pair):
        survivor, duplicate = pair
        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)
        survivor.refresh_from_db()
        assert survivor.legal_name == "Marcus Bell"
        assert survivor.date_of_birth == datetime.date(1987, 3, 2)
        assert survivor.estimated_age is None
        assert survivor.phone == "541-555-0999"

    def test_timeline_and_audit_record_the_merge(self, dana, pair):
        survivor, duplicate = pair
        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)
        for case in Case.objects.filter(client=survivor):
            event = case.events.get(kind=CaseEventKind.CLIENTS_MERGED)
            assert event.actor == dana
            assert event.detail["survivor_id"] == survivor.pk
            assert event.detail["merged_id"] == duplicate.pk
            # The summary again as its message, for each reader's language (CaseEvent.text).
            assert event.detail["i18n"]["a"]["survivor_id"] == survivor.pk
            assert event.text == event.summary
        rows = AuditEvent.objects.filter(action=Action.MERGE, actor=dana)
        assert set(rows.values_list("client_id", flat=True)) == {survivor.pk, duplicate.pk}
        assert rows.first().detail["moved"]["cases.case"] == 1

    def test_an_identifier_of_a_kind_the_survivor_has_stays_on_the_duplicate(self, dana, pair):
        survivor, duplicate = pair
        ClientIdentifier.objects.create(
            agency=survivor.agency, client=survivor, kind="hmis", value="HM-1"
        )
        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)
        assert list(duplicate.identifiers.values_list("value", flat=True)) == ["HM-77"]
        assert list(survivor.identifiers.values_list("value", flat=True)) == ["HM-1"]

    def test_two_open_cases_are_refused_and_nothing_moves(
        self, dana, alice, pair, record_contact_for
    ):
        survivor, duplicate = pair
        record_contact_for(alice, client=duplicate)  # reopens a case for the duplicate
        with pytest.raises(MergeRefused, match="Both records have an open case"):
            services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)
        assert Case.objects.filter(client=duplicate).count() == 2

    def test_refusals(self, dana, carol_case, pair):
        survivor, duplicate = pair
        with pytest.raises(MergeRefused):
            services.merge_clients(actor=dana, survivor=survivor, duplicate=survivor)
        with pytest.raises(MergeRefused, match="No such client"):
            services.merge_clients(actor=dana, survivor=survivor, duplicate=carol_case.client)
        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)
        with pytest.raises(MergeRefused, match="already merged"):
            services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)

    def test_workers_and_supervisors_may_not_merge(self, alice, sam, pair):
        survivor, duplicate = pair
        for user in (alice, sam):
            with pytest.raises(NotPermitted):
                services.merge_clients(actor=user, survivor=survivor, duplicate=duplicate)

    def test_a_contact_for_the_merged_record_goes_to_the_survivor(
        self, dana, alice, pair, record_contact_for
    ):
        survivor, duplicate = pair
        services.merge_clients(actor=dana, survivor=survivor, duplicate=duplicate)
        contact = record_contact_for(alice, client=duplicate)
        assert contact.client == survivor


class TestMergePages:
    def test_the_admin_picks_the_duplicate_compares_and_merges(self, login, dana, pair):
        survivor, duplicate = pair
        client = login(dana)
        page = client.get(reverse("cases:client_detail", args=[survivor.pk])).content.decode()
        merge_url = reverse("cases:client_merge", args=[survivor.pk])
        assert merge_url in page

        page = client.get(merge_url).content.decode()
        confirm_url = reverse("cases:client_merge_confirm", args=[survivor.pk, duplicate.pk])
        assert confirm_url in page  # offered as the likely same person

        page = client.get(confirm_url).content.decode()
        assert page.count("merge-record") == 2
        assert "Marcus Bel" in page and "HM-77" in page

        assert client.post(confirm_url, {}).status_code == 200  # not confirmed
        response = client.post(confirm_url, {"confirmed": "on"})
        assert response.status_code == 302
        assert Client.objects.get(pk=duplicate.pk).merged_into_id == survivor.pk

        page = client.get(reverse("cases:client_detail", args=[duplicate.pk])).content.decode()
        assert "merged-notice" in page

    def test_the_search_finds_other_clients(self, login, dana, pair):
        survivor, _ = pair
        other = ClientFactory(agency=survivor.agency, legal_name="Zed Quinn")
        page = (
            login(dana)
            .get(reverse("cases:client_merge", args=[survivor.pk]), {"q": "zed"})
            .content.decode()
        )
        assert reverse("cases:client_merge_confirm", args=[survivor.pk, other.pk]) in page

    def test_a_refused_merge_is_shown_not_a_500(self, login, dana, pair):
        survivor, _ = pair
        url = reverse("cases:client_merge_confirm", args=[survivor.pk, survivor.pk])
        response = login(dana).post(url, {"confirmed": "on"})
        assert response.status_code == 200
        assert "two different records" in response.content.decode()

    @pytest.mark.parametrize("persona", ["alice", "bob", "sam"])
    def test_workers_and_supervisors_are_refused(self, request, login, persona, pair):
        survivor, duplicate = pair
        user = request.getfixturevalue(persona)
        client = login(user)
        for url in (
            reverse("cases:client_merge", args=[survivor.pk]),
            reverse("cases:client_merge_confirm", args=[survivor.pk, duplicate.pk]),
        ):
            assert client.get(url).status_code == 403
        assert client.post(url, {"confirmed": "on"}).status_code == 403
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_type="client_merge"
        ).exists()
        assert Client.objects.get(pk=duplicate.pk).merged_into_id is None

    def test_another_agencys_admin_gets_404(self, login, pair, agency_b):
        from accounts.models import Role
        from tests.accounts.factories import UserFactory

        other_admin = UserFactory(agency=agency_b, role=Role.AGENCY_ADMIN)
        survivor, duplicate = pair
        client = login(other_admin)
        assert client.get(reverse("cases:client_merge", args=[survivor.pk])).status_code == 404
        url = reverse("cases:client_merge_confirm", args=[survivor.pk, duplicate.pk])
        assert client.post(url, {"confirmed": "on"}).status_code == 404
        assert AuditEvent.objects.filter(
            actor=other_admin, action=Action.DENIED, object_type="client"
        ).exists()
        assert Client.objects.get(pk=duplicate.pk).merged_into_id is None

    def test_the_merge_page_query_count_does_not_grow(
        self, login, dana, pair, django_assert_max_num_queries
    ):
        survivor, _ = pair
        for i in range(8):
            ClientFactory(agency=survivor.agency, legal_name=f"Marcus Bell{i}", date_of_birth=None)
        client = login(dana)
        url = reverse("cases:client_merge", args=[survivor.pk])
        with django_assert_max_num_queries(20):
            client.get(url, {"q": "marcus"})
