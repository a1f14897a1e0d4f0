"""Who sees and changes which dispatch records: agency-scoped, 404 across agencies,
audited when a request names a client."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from accounts.models import Role
from audit.models import Action, AuditEvent
from dispatch import services
from dispatch.access import get_request_for_user, get_unit_for_user
from dispatch.models import Step, TeamRequest, Unit
from tests.accounts.factories import UserFactory
from tests.cases.factories import ClientFactory
from tests.dispatch.factories import TeamRequestFactory, UnitFactory

PERSONAS = ["dex", "sam", "dana", "alice", "bob", "erin", "carol", "bea", "root"]
# Written out by hand from the rules in TeamRequest.objects.visible_to / writable_by:
# alice and bob answered the first request on Van 1 and are now off shift; erin is on
# Van 2's shift; carol and bea are Agency B's; root is the system admin.
SEES_ANSWERED = {"dex", "sam", "dana", "alice", "bob", "erin"}
SEES_UNANSWERED = {"dex", "sam", "dana", "erin"}
CHANGES = {"dex", "sam"}


@pytest.fixture
def world(request_at, on_shift, van2_on_shift, dex, alice, agency_a, new_request):
    """An answered request (Van 1: alice and bob, shift since ended) and an unanswered
    one, both naming a client of Agency A."""
    client = ClientFactory(agency=agency_a)
    answered = request_at("on_scene", client=client)
    services.advance(unit=on_shift, actor=alice, to=Step.BACK_IN_SERVICE)
    services.end_shift(unit=on_shift, actor=dex)
    unanswered = new_request(client=client)
    return {"answered": answered, "unanswered": unanswered}


def http_as(user, path="/dispatch/"):
    request = RequestFactory().get(path)
    request.user = user
    return request


def fetch(user, pk, **kwargs):
    return get_request_for_user(http_as(user), pk, **kwargs)


class TestRequestMatrix:
    @pytest.mark.parametrize("persona", PERSONAS)
    @pytest.mark.parametrize("which", ["answered", "unanswered"])
    def test_read(self, request, world, persona, which):
        user = request.getfixturevalue(persona)
        target = world[which]
        expected = SEES_ANSWERED if which == "answered" else SEES_UNANSWERED
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        if persona in expected:
            assert fetch(user, target.pk) == target
            row = AuditEvent.objects.filter(id__gt=before).get()
            assert (row.action, row.client_id, row.object_id) == (
                Action.VIEW,
                target.client_id,
                str(target.pk),
            )
        else:
            with pytest.raises(Http404):
                fetch(user, target.pk)
            row = AuditEvent.objects.filter(id__gt=before).get()
            assert (row.action, row.agency_id) == (Action.DENIED, target.agency_id)
            assert row.detail["reason"] == "not visible"

    @pytest.mark.parametrize("persona", ["dex", "sam", "dana", "erin"])
    def test_write(self, request, world, persona):
        user = request.getfixturevalue(persona)
        target = world["unanswered"]
        if persona in CHANGES:
            assert fetch(user, target.pk, write=True) == target
        else:
            with pytest.raises(PermissionDenied):
                fetch(user, target.pk, write=True)
            assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).exists()

    def test_a_worker_on_no_shift_who_answered_nothing_sees_nothing(self, world, agency_a):
        stranger = UserFactory(agency=agency_a)
        assert not TeamRequest.objects.visible_to(stranger).exists()

    def test_a_request_naming_nobody_is_read_without_an_audit_row(self, dex, new_request):
        target = new_request()
        assert fetch(dex, target.pk) == target
        assert not AuditEvent.objects.filter(action=Action.VIEW).exists()

    def test_an_id_that_is_no_id_is_404(self, dex):
        with pytest.raises(Http404):
            fetch(dex, "1 OR 1=1")

    def test_a_dispatcher_of_the_other_agency_gets_404(self, bea, new_request):
        with pytest.raises(Http404):
            fetch(bea, new_request().pk)


class TestUnits:
    def test_the_agency_sees_its_units_and_dispatchers_manage_them(self, van, dex, alice, dana):
        assert get_unit_for_user(http_as(dex), van.pk, write=True) == van
        assert get_unit_for_user(http_as(alice), van.pk) == van
        with pytest.raises(PermissionDenied):
            get_unit_for_user(http_as(dana), van.pk, write=True)
        assert not AuditEvent.objects.filter(action=Action.VIEW).exists()

    @pytest.mark.parametrize("persona", ["carol", "bea", "root"])
    def test_another_agencys_unit_is_404(self, request, persona, van):
        with pytest.raises(Http404):
            get_unit_for_user(http_as(request.getfixturevalue(persona)), van.pk)
        assert AuditEvent.objects.get().action == Action.DENIED


class TestListQueries:
    @pytest.mark.parametrize(("persona", "bound"), [("dex", 1), ("erin", 2), ("alice", 2)])
    def test_the_list_does_not_grow_with_its_rows(
        self, request, persona, bound, agency_a, van2_on_shift, dex, django_assert_max_num_queries
    ):
        user = request.getfixturevalue(persona)
        for n in range(6):
            TeamRequestFactory(
                agency=agency_a,
                created_by=dex,
                client=ClientFactory(agency=agency_a) if n % 2 else None,
            )
        with django_assert_max_num_queries(bound):
            rows = list(TeamRequest.objects.visible_to(user).for_list())
            names = [(r.client and r.client.legal_name, r.created_by.username) for r in rows]
        assert len(names) == (0 if persona == "alice" else 6)


class TestAdmin:
    @pytest.fixture
    def staff_dana(self, dana):
        dana.is_staff = True
        dana.save()
        return dana

    def test_the_agency_admin_reads_their_agencys_requests_audited(
        self, client, staff_dana, agency_a, agency_b, dex
    ):
        ours = TeamRequestFactory(agency=agency_a, client=ClientFactory(agency=agency_a))
        theirs = TeamRequestFactory(agency=agency_b)
        client.force_login(staff_dana)
        response = client.get("/admin/dispatch/teamrequest/")
        assert response.status_code == 200
        shown = [row.pk for row in response.context["cl"].result_list]
        assert shown == [ours.pk]
        row = AuditEvent.objects.get(action=Action.LIST, actor=staff_dana)
        assert row.detail["client_ids"] == [ours.client_id]
        assert client.get(f"/admin/dispatch/teamrequest/{theirs.pk}/change/").status_code == 302
        assert client.get(f"/admin/dispatch/teamrequest/{ours.pk}/change/").status_code == 200
        assert client.post("/admin/dispatch/teamrequest/add/", {}).status_code == 403

    def test_the_agency_admin_sets_up_units_of_their_agency(
        self, client, staff_dana, agency_a, agency_b, team_a
    ):
        UnitFactory(agency=agency_b, call_sign="Van 1")
        client.force_login(staff_dana)
        form = {
            "call_sign": "Van 1",
            "team": team_a.pk,
            "base_address": "1 Main St",
            "base_latitude": "44.05",
            "base_longitude": "-123.09",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        }
        response = client.post("/admin/dispatch/unit/add/", form)
        assert response.status_code == 302
        made = Unit.objects.get(agency=agency_a)
        assert (made.call_sign, made.status) == ("Van 1", "off_shift")
        again = client.post("/admin/dispatch/unit/add/", form)
        assert again.status_code == 200
        assert "Another unit of the agency has this call sign." in again.content.decode()
        assert Unit.objects.filter(agency=agency_a).count() == 1

    def test_the_system_admin_sees_no_rows(self, client, root, agency_a):
        TeamRequestFactory(agency=agency_a)
        client.force_login(root)
        assert client.get("/admin/dispatch/teamrequest/").status_code == 403
        assert client.get("/admin/dispatch/unit/").status_code == 403


class TestDispatchersReadNoCaseload:
    def test_a_dispatcher_given_a_team_sees_none_of_its_cases_or_clients(
        self, agency_a, team_a, alice_case
    ):
        from cases.models import Case, Client

        dispatcher = UserFactory(username="dot", agency=agency_a, role=Role.DISPATCHER, team=team_a)
        assert alice_case.team_id == team_a.pk
        assert not Case.objects.visible_to(dispatcher).exists()
        assert not Client.objects.visible_to(dispatcher).exists()
