"""The metrics pages and API against garbage periods: a date near either end of the
calendar, a period that ends before it starts or spans a century is refused (a form
error on the page, a 400 naming the field in the API), never a 500 or a long query."""

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent

METRICS_API = [f"/api/v1/metrics/{name}/" for name in ("compliance", "fum", "fua", "programme")]
BAD_PERIODS = [
    ({"start": "9999-12-31"}, "start"),
    ({"end": "0001-01-01"}, "end"),
    ({"start": "0001-01-01"}, "start"),
    ({"end": "9999-12-31"}, "end"),
    ({"start": "9999-12-31", "end": "9999-12-31"}, "start"),
    ({"start": "1926-01-01", "end": "2026-01-01"}, "start"),
    ({"start": "2026-01-05", "end": "2026-01-01"}, "end"),
    ({"start": "99999-01-01"}, "start"),
    ({"start": "2026-02-30"}, "start"),
    ({"start": "\x00"}, "start"),
]


@pytest.mark.parametrize("params, field", BAD_PERIODS)
def test_api_refuses_bad_periods(api, sam, alice_case, params, field):
    api.force_authenticate(sam)
    for url in METRICS_API:
        response = api.get(url, params)
        assert response.status_code == 400, (url, params, response.status_code)
        assert field in response.json(), (url, params, response.json())


@pytest.mark.parametrize(
    "params",
    [
        {"start": "9999-12-31", "end": "9999-12-31"},
        {"start": "1926-01-01", "end": "2026-01-01"},
        {"start": "2026-01-05", "end": "2026-01-01"},
        {"start": "0001-01-01", "end": "0001-01-02"},
        {"start": "2026-01-01"},
        {"days": "99999"},
        {"days": "-1"},
        {"team": "99999999999999999999999"},
        {"worker": "\x00"},
    ],
)
def test_page_refuses_bad_periods_with_form_errors(client, sam, alice_case, params):
    client.force_login(sam)
    response = client.get(reverse("metrics:compliance"), params)
    assert response.status_code == 200
    assert response.context["form"].errors
    # The page falls back to its default period, a bounded one.
    scope = response.context["scope"]
    assert (scope.end - scope.start).days < 366
    drilldown = client.get(reverse("metrics:drilldown", args=["followups-due"]), params)
    assert drilldown.status_code == 200


@pytest.mark.parametrize("page", ["999999", "-1", "abc", "0", "\x00"])
def test_drilldown_pages_out_of_range(client, sam, alice_case, page):
    client.force_login(sam)
    url = reverse("metrics:drilldown", args=["contacts-all"])
    assert client.get(url, {"page": page}).status_code == 200


@pytest.mark.parametrize("what", ["nothing", "followups-bogus", "fum-99-hit", "no-contact-99"])
def test_unknown_figure_is_404(client, sam, what):
    client.force_login(sam)
    assert client.get(reverse("metrics:drilldown", args=[what])).status_code == 404


def test_pages_are_get_only(client, sam):
    client.force_login(sam)
    assert client.post(reverse("metrics:compliance")).status_code == 405
    url = reverse("metrics:drilldown", args=["drop-off"])
    assert client.post(url).status_code == 405


def test_a_team_of_another_agency_is_refused_and_audited_in_its_trail(api, dana, team_b):
    api.force_authenticate(dana)
    response = api.get("/api/v1/metrics/compliance/", {"team": team_b.pk})
    assert response.status_code == 400
    assert "team" in response.json()
    denied = AuditEvent.objects.get(actor=dana, action=Action.DENIED)
    assert denied.object_type == "team"
    assert denied.agency_id == team_b.agency_id


def test_a_worker_outside_the_supervisors_teams_is_refused(api, client, sam, erin):
    api.force_authenticate(sam)
    response = api.get("/api/v1/metrics/drop-off/", {"worker": erin.pk})
    assert response.status_code == 400
    assert "worker" in response.json()
    assert AuditEvent.objects.filter(actor=sam, action=Action.DENIED, object_type="user").exists()
    client.force_login(sam)
    response = client.get(reverse("metrics:compliance"), {"worker": erin.pk})
    assert response.status_code == 200
    assert response.context["scope"].worker is None
    assert AuditEvent.objects.filter(action=Action.DENIED, object_type="user").count() == 2
