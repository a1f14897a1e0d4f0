"""The follow-up pages, API and admin against probing and garbage: ids that are not
yours, assignees outside the case's scope, times at the ends of the calendar, protocol
offsets that would overflow a schedule."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import grant_agency_admin_permissions
from followups.models import FollowUp, Protocol, ProtocolVersion, Unit
from followups.protocols import install_standard_protocols
from tests.followups.factories import due_followup, ed_visit

END_OF_TIME = [
    "9999-12-31T23:59",
    "9999-12-31 23:59",
    "9999-12-31T00:00",
    "0001-01-01T00:00",
    "0001-01-01 00:00",
    "99999-01-01T00:00",
    "2026-13-45T99:99",
]


def _state(fu):
    fu.refresh_from_db()
    return (fu.status, fu.due_at, fu.window_start, fu.window_end, fu.attempts.count())


@pytest.mark.parametrize("value", END_OF_TIME)
def test_moving_to_the_ends_of_the_calendar_is_a_form_error(client, alice, alice_case, value):
    fu = due_followup(alice_case)
    before = _state(fu)
    client.force_login(alice)
    response = client.post(
        reverse("followups:move", args=[fu.pk]), {"due_at": value, "reason": "Client away"}
    )
    assert response.status_code == 200
    assert response.context["move_form"].errors
    assert _state(fu) == before


@pytest.mark.parametrize("value", END_OF_TIME)
def test_a_one_off_or_a_visit_at_the_ends_of_the_calendar(client, alice, alice_case, value):
    client.force_login(alice)
    count = FollowUp.objects.count()
    response = client.post(
        reverse("casework:followup_add", args=[alice_case.pk]),
        {"due_at": value, "method": "phone", "reason": "Check in"},
    )
    assert response.status_code == 200
    response = client.post(
        reverse("casework:visit_add", args=[alice_case.pk]),
        {"kind": "ed", "reason": "mental_health", "arrived_at": value, "discharged_at": value},
    )
    assert response.status_code == 200
    assert FollowUp.objects.count() == count
    assert not alice_case.hospital_visits.exists()


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59",
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00",
        "99999-01-01T00:00:00Z",
        "2026-01-01T00:00:00+99:00",
    ],
)
def test_api_times_at_the_ends_of_the_calendar_are_400(api, alice, alice_case, value):
    fu = due_followup(alice_case)
    visit = ed_visit(alice_case)
    before = _state(fu)
    api.force_authenticate(alice)
    for url, body, field in [
        (f"/api/v1/followups/{fu.pk}/move/", {"due_at": value, "reason": "x"}, "due_at"),
        (
            "/api/v1/followups/",
            {"case": alice_case.pk, "due_at": value, "reason": "x"},
            "due_at",
        ),
        (f"/api/v1/followups/{fu.pk}/attempts/", {"outcome": "no_answer", "at": value}, "at"),
        (f"/api/v1/followups/{fu.pk}/complete/", {"at": value}, "at"),
        (
            f"/api/v1/hospital-visits/{visit.pk}/discharge/",
            {"discharged_at": value},
            "discharged_at",
        ),
        (
            "/api/v1/hospital-visits/",
            {"case": alice_case.pk, "reason": "mental_health", "arrived_at": value},
            "arrived_at",
        ),
    ]:
        response = api.post(url, body, format="json")
        assert response.status_code == 400, (url, value, response.status_code)
        assert field in response.json(), (url, value, response.json())
    assert _state(fu) == before


def test_api_assignee_must_be_able_to_work_the_case(api, alice, bob, erin, sam, alice_case):
    """Erin (another team) could neither see nor work the follow-up, yet would be told
    of it with the client's name: refused. Bob (the same team) and Sam (its supervisor)
    may be given it."""
    api.force_authenticate(alice)
    due = (timezone.now() + datetime.timedelta(days=2)).isoformat()
    body = {"case": alice_case.pk, "due_at": due, "reason": "Check in"}
    response = api.post("/api/v1/followups/", {**body, "assigned_to": erin.pk}, format="json")
    assert response.status_code == 400
    assert "assigned_to" in response.json()
    assert not FollowUp.objects.filter(assigned_to=erin).exists()
    for colleague in (bob, sam):
        response = api.post(
            "/api/v1/followups/", {**body, "assigned_to": colleague.pk}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert response.json()["assigned_to"]["id"] == colleague.pk


def test_api_another_agencys_case_and_contact_are_unknown(api, alice, alice_case, carol_case):
    fu = due_followup(alice_case)
    carol_contact = carol_case.contacts.first()
    api.force_authenticate(alice)
    due = (timezone.now() + datetime.timedelta(days=2)).isoformat()
    response = api.post(
        "/api/v1/followups/",
        {"case": carol_case.pk, "due_at": due, "reason": "x"},
        format="json",
    )
    assert response.status_code == 400
    assert "case" in response.json()
    response = api.post(
        f"/api/v1/followups/{fu.pk}/complete/", {"contact": carol_contact.pk}, format="json"
    )
    assert response.status_code == 400
    assert "contact" in response.json()
    assert not carol_case.followups.filter(created_by=alice).exists()


@pytest.mark.parametrize("body", ["[]", "[1, 2]", "null", "1", '"x"', "{"])
def test_api_bodies_that_are_not_objects(api, alice, alice_case, body):
    fu = due_followup(alice_case)
    api.force_authenticate(alice)
    for url in (
        "/api/v1/followups/",
        f"/api/v1/followups/{fu.pk}/attempts/",
        f"/api/v1/followups/{fu.pk}/move/",
        f"/api/v1/followups/{fu.pk}/cancel/",
        f"/api/v1/followups/{fu.pk}/complete/",
        "/api/v1/hospital-visits/",
    ):
        response = api.post(url, body, content_type="application/json")
        assert response.status_code == 400, (url, body, response.status_code)


def test_state_changes_are_post_only(client, alice, alice_case):
    fu = due_followup(alice_case)
    before = _state(fu)
    client.force_login(alice)
    for name in ("attempt", "complete", "move", "cancel"):
        assert client.get(reverse(f"followups:{name}", args=[fu.pk])).status_code == 405
    assert _state(fu) == before


def test_attempt_without_htmx_redirects_and_with_htmx_is_a_fragment(client, alice, alice_case):
    fu = due_followup(alice_case)
    client.force_login(alice)
    url = reverse("followups:attempt", args=[fu.pk])
    response = client.post(url, {"outcome": "no_answer"})
    assert response.status_code == 302
    assert response.url == reverse("followups:detail", args=[fu.pk])
    response = client.post(url, {"outcome": "no_answer"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert fu.attempts.count() == 2


@pytest.fixture
def edit_protocol(client, dana):
    install_standard_protocols(dana.agency_id)
    protocol = Protocol.objects.filter(agency_id=dana.agency_id).order_by("pk").first()
    client.force_login(dana)

    def post(**step):
        body = {
            "description": "Calls after discharge.",
            "end_rule": protocol.current_version().end_rule,
            "change_note": "Testing",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "1",
            "steps-MAX_NUM_FORMS": "40",
            **{
                f"steps-0-{k}": v
                for k, v in {
                    "name": "Call",
                    "unit": Unit.DAYS,
                    "start": "0",
                    "due": "1",
                    "end": "2",
                    "method": "phone",
                    "performer": "assigned_worker",
                    **step,
                }.items()
            },
        }
        return client.post(reverse("followups:protocol_edit", args=[protocol.pk]), body)

    post.protocol = protocol
    return post


@pytest.mark.parametrize(
    "step",
    [
        {"repeat_every": "2000000000"},
        {"repeat_every": "99999999999999999999999"},
        {"repeat_every": "1831"},
        {"unit": Unit.HOURS, "repeat_every": "8785"},
        {"end": "2000000000"},
        {"start": "-1"},
        {"due": "\x00"},
        {"unit": "weeks"},
        {"repeat_times": "1000000"},
    ],
)
def test_protocol_offsets_that_would_overflow_are_form_errors(edit_protocol, step):
    versions = ProtocolVersion.objects.filter(protocol=edit_protocol.protocol).count()
    response = edit_protocol(**step)
    assert response.status_code == 200
    assert response.context["steps"].total_error_count()
    assert ProtocolVersion.objects.filter(protocol=edit_protocol.protocol).count() == versions


def test_protocol_with_the_longest_repeat_is_saved(edit_protocol):
    response = edit_protocol(repeat_every="1830", repeat_times="100")
    assert response.status_code == 302


ADMIN_LISTS = {
    "followup": "due_at",
    "hospitalvisit": "arrived_at",
    "enrolment": "anchor_at",
    "attempt": "at",
}


@pytest.mark.parametrize("model, field", ADMIN_LISTS.items())
def test_admin_date_drilldown_at_the_end_of_the_calendar(client, dana, alice_case, model, field):
    grant_agency_admin_permissions(user=dana)
    client.force_login(dana)
    url = f"/admin/followups/{model}/"
    for params in (
        {f"{field}__year": "9999"},
        {f"{field}__year": "9999", f"{field}__month": "12"},
        {f"{field}__year": "9999", f"{field}__month": "12", f"{field}__day": "31"},
        {"method": "\x00"},
        {"q": "a\x00b"},
        {f"{field}__gte\x00": "1"},
    ):
        response = client.get(url, params)
        assert response.status_code == 302, (model, params)
        assert response.url.endswith("?e=1")
    for params in (
        {f"{field}__year": "9998", f"{field}__month": "12", f"{field}__day": "31"},
        {f"{field}__year": "abc"},
        {f"{field}__year": "0"},
    ):
        assert client.get(url, params).status_code in (200, 302), (model, params)


@pytest.mark.parametrize("url", ["/admin/followups/protocol/", "/admin/followups/protocolversion/"])
def test_protocol_admin_garbage(client, root, dana, url):
    install_standard_protocols(dana.agency_id)
    client.force_login(root)
    for params in ({"q": "a\x00b"}, {"trigger": "\x00"}, {"p": "999999"}, {"o": "-99"}):
        response = client.get(url, params)
        assert response.status_code in (200, 302), (url, params)
