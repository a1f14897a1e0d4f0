"""Every role against every page and endpoint that shows or changes a client record,
for an own, a same-team, an other-team and an other-agency record.

The expected visibility is written out by hand from the access rules (not computed from
`visible_to`), so a change to the rules shows up here as a failure.
"""

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from cases.models import Case
from tests.attachments.factories import attach
from tests.referrals.factories import sent_referral

PERSONAS = ["alice", "bob", "erin", "sam", "dana", "carol", "root"]
# Whose case is the target: own / same team / other team / other agency.
TARGETS = ["alice", "bob", "erin", "carol"]

# Whose cases each persona may see. alice and bob share a team; sam supervises it; erin is
# on another team of Agency A; dana is Agency A's admin; carol is in Agency B; root is the
# system admin, who sees no client data.
VISIBLE = {
    "alice": {"alice", "bob"},
    "bob": {"alice", "bob"},
    "erin": {"erin"},
    "sam": {"alice", "bob"},
    "dana": {"alice", "bob", "erin"},
    "carol": {"carol"},
    "root": set(),
}
# Agency admins and system admins change no clinical record.
WRITABLE = {name: (set() if name in ("dana", "root") else seen) for name, seen in VISIBLE.items()}


@pytest.fixture
def world(alice, bob, erin, sam, dana, carol, root, alice_case, bob_case, erin_case, carol_case):
    users = {u.username: u for u in (alice, bob, erin, sam, dana, carol, root)}
    cases = {"alice": alice_case, "bob": bob_case, "erin": erin_case, "carol": carol_case}
    for case in cases.values():
        # Each case's own worker has sent a referral under the client's consent.
        sent_referral(case.assigned_worker, case)
        # And attached a photo of the signed consent.
        attach(case.assigned_worker, case=case)
    return users, cases


def _ids(case):
    contact = case.contacts.first()
    referral = case.referrals.first()
    return {
        "case": case.pk,
        "client": case.client_id,
        "contact": contact.pk,
        "referral": referral.pk,
        "consent": referral.consent_id,
        "attachment": case.attachments.get().pk,
    }


# (name, method, url builder, body)
READ_PAGES = [
    ("case page", lambda i: reverse("casework:case_detail", args=[i["case"]])),
    ("contact page", lambda i: reverse("cases:contact_detail", args=[i["contact"]])),
    ("client page", lambda i: reverse("cases:client_detail", args=[i["client"]])),
    ("referral page", lambda i: reverse("referrals:detail", args=[i["referral"]])),
    ("consent page", lambda i: reverse("referrals:consent_detail", args=[i["consent"]])),
    ("attachment file", lambda i: reverse("attachments:file", args=[i["attachment"]])),
]
READ_API = [
    ("api client", lambda i: f"/api/v1/clients/{i['client']}/"),
    ("api case", lambda i: f"/api/v1/cases/{i['case']}/"),
    ("api case timeline", lambda i: f"/api/v1/cases/{i['case']}/timeline/"),
    ("api contact", lambda i: f"/api/v1/contacts/{i['contact']}/"),
    ("api contact amendments", lambda i: f"/api/v1/contacts/{i['contact']}/amendments/"),
    ("api referral", lambda i: f"/api/v1/referrals/{i['referral']}/"),
    ("api referral events", lambda i: f"/api/v1/referrals/{i['referral']}/events/"),
    ("api referral links", lambda i: f"/api/v1/referrals/{i['referral']}/provider-links/"),
    ("api consent", lambda i: f"/api/v1/consents/{i['consent']}/"),
    ("api attachment", lambda i: f"/api/v1/attachments/{i['attachment']}/"),
    ("api attachment file", lambda i: f"/api/v1/attachments/{i['attachment']}/file/"),
]
WRITE_PAGES = [
    ("close case", lambda i: reverse("casework:case_close", args=[i["case"]]), {}),
    ("case concerns", lambda i: reverse("casework:case_concerns", args=[i["case"]]), {}),
    ("case note", lambda i: reverse("casework:case_note", args=[i["case"]]), {}),
    ("attach to case", lambda i: reverse("attachments:case", args=[i["case"]]), {}),
    (
        "attachment in error",
        lambda i: reverse("attachments:in_error", args=[i["attachment"]]),
        {},
    ),
    ("amend contact", lambda i: reverse("cases:contact_amend", args=[i["contact"]]), {}),
    ("edit client", lambda i: reverse("cases:client_edit", args=[i["client"]]), {}),
    ("referral status", lambda i: reverse("referrals:status", args=[i["referral"]]), {}),
    (
        "referral appointment",
        lambda i: reverse("referrals:appointment", args=[i["referral"]]),
        {},
    ),
    ("new provider link", lambda i: reverse("referrals:link_new", args=[i["referral"]]), {}),
    (
        "revoke consent",
        lambda i: reverse("referrals:consent_revoke", args=[i["consent"]]),
        {"note": "x" * 5000},
    ),
]
WRITE_API = [
    (
        "api edit client",
        "patch",
        lambda i: f"/api/v1/clients/{i['client']}/",
        {"pronouns": "she/her"},
    ),
    (
        "api case concerns",
        "patch",
        lambda i: f"/api/v1/cases/{i['case']}/",
        {"presenting_concerns": ["housing"]},
    ),
    ("api close case", "post", lambda i: f"/api/v1/cases/{i['case']}/close/", {}),
    ("api amend contact", "post", lambda i: f"/api/v1/contacts/{i['contact']}/amend/", {}),
    (
        "api referral transition",
        "post",
        lambda i: f"/api/v1/referrals/{i['referral']}/transition/",
        {},
    ),
    (
        "api referral appointment",
        "post",
        lambda i: f"/api/v1/referrals/{i['referral']}/appointment/",
        {},
    ),
    ("api send referral", "post", lambda i: f"/api/v1/referrals/{i['referral']}/send/", {}),
    (
        "api revoke consent",
        "post",
        lambda i: f"/api/v1/consents/{i['consent']}/revoke/",
        {"note": "x" * 5000},
    ),
]


def where(persona, target, name, response):
    return f"{persona} on {target}'s record, {name}: answered {response.status_code}"


def _denied_logged(user, before):
    return AuditEvent.objects.filter(pk__gt=before, actor=user, action=Action.DENIED).exists()


def _last_audit_id():
    last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    return last or 0


def _split_by_visibility(cases, persona):
    """The target cases `persona` may see, and those hidden from them."""
    shown = [cases[t] for t in TARGETS if t in VISIBLE[persona]]
    hidden = [cases[t] for t in TARGETS if t not in VISIBLE[persona]]
    return shown, hidden


def _results(api, path):
    return api.get(path).json()["results"]


@pytest.mark.parametrize("persona", PERSONAS)
class TestReadMatrix:
    def test_pages(self, client, world, persona):
        users, cases = world
        client.force_login(users[persona])
        for target in TARGETS:
            ids = _ids(cases[target])
            for name, url in READ_PAGES:
                before = _last_audit_id()
                response = client.get(url(ids))
                if target in VISIBLE[persona]:
                    assert response.status_code == 200, (persona, target, name)
                    assert AuditEvent.objects.filter(
                        pk__gt=before, actor=users[persona], action=Action.VIEW
                    ).exists(), (persona, target, name)
                else:
                    assert response.status_code == 404, where(persona, target, name, response)
                    assert _denied_logged(users[persona], before), (persona, target, name)

    def test_api(self, api, world, persona):
        users, cases = world
        api.force_authenticate(users[persona])
        for target in TARGETS:
            ids = _ids(cases[target])
            for name, url in READ_API:
                before = _last_audit_id()
                response = api.get(url(ids))
                expected = 200 if target in VISIBLE[persona] else 404
                assert response.status_code == expected, where(persona, target, name, response)
                if expected == 404:
                    assert _denied_logged(users[persona], before), (persona, target, name)

    def test_api_lists_show_only_visible_clients(self, api, world, persona):
        users, cases = world
        api.force_authenticate(users[persona])
        shown, _ = _split_by_visibility(cases, persona)

        listed = {row["id"] for row in _results(api, "/api/v1/cases/?page_size=100")}
        assert listed == {c.pk for c in shown}
        listed = {row["id"] for row in _results(api, "/api/v1/clients/?page_size=100")}
        assert listed == {c.client_id for c in shown}
        listed = {row["case"] for row in _results(api, "/api/v1/contacts/?page_size=100")}
        assert listed == {c.pk for c in shown}
        listed = {row["case"] for row in _results(api, "/api/v1/attachments/?page_size=100")}
        assert listed == {c.pk for c in shown}

    def test_searches_find_no_hidden_client(self, api, client, world, persona):
        users, cases = world
        user = users[persona]
        api.force_authenticate(user)
        client.force_login(user)
        _, hidden = _split_by_visibility(cases, persona)

        for case in hidden:
            name = case.client.legal_name
            found = api.get("/api/v1/clients/", {"q": name}).json()["results"]
            assert found == [], (persona, name)
            if user.agency_id:
                page = client.get(reverse("cases:client_search"), {"q": name})
                # Same-agency clients outside one's scope may be named in the emergency
                # access section; another agency's never are.
                # (The search box repeats the query, so look for the record's links.)
                body = page.content.decode()
                if case.agency_id != user.agency_id:
                    assert reverse("cases:client_detail", args=[case.client_id]) not in body
                    assert reverse("casework:case_detail", args=[case.pk]) not in body
                    assert reverse("casework:emergency_access", args=[case.pk]) not in body


# The referral and consent lists hold client data of an agency: for its users only.
@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "root"])
class TestReferralListMatrix:
    def test_referral_lists_show_only_visible_clients(self, api, client, world, persona):
        users, cases = world
        user = users[persona]
        api.force_authenticate(user)
        client.force_login(user)
        shown, hidden = _split_by_visibility(cases, persona)

        listed = {row["case"] for row in _results(api, "/api/v1/referrals/?page_size=100")}
        assert listed == {c.pk for c in shown}
        listed = {row["client"]["id"] for row in _results(api, "/api/v1/consents/?page_size=100")}
        assert listed == {c.client_id for c in shown}
        page = client.get(reverse("referrals:list")).content.decode()
        for case in hidden:
            referral = case.referrals.first()
            assert reverse("referrals:detail", args=[referral.pk]) not in page


@pytest.mark.parametrize("persona", PERSONAS)
class TestWriteMatrix:
    def test_pages(self, client, world, persona):
        users, cases = world
        client.force_login(users[persona])
        for target in TARGETS:
            ids = _ids(cases[target])
            for name, url, body in WRITE_PAGES:
                response = client.post(url(ids), body)
                if target in WRITABLE[persona]:
                    # A form with errors re-renders (200) or says so on the record's page
                    # (302); a post naming no action at all is malformed (400).
                    ok = (200, 302, 400)
                    assert response.status_code in ok, where(persona, target, name, response)
                elif target in VISIBLE[persona]:
                    assert response.status_code == 403, where(persona, target, name, response)
                else:
                    assert response.status_code == 404, where(persona, target, name, response)
        # Nothing was closed: the bodies above are empty, so valid writers get form errors.
        assert Case.objects.filter(status="closed").count() == 0

    def test_api(self, api, world, persona):
        users, cases = world
        api.force_authenticate(users[persona])
        for target in TARGETS:
            ids = _ids(cases[target])
            for name, method, url, body in WRITE_API:
                response = getattr(api, method)(url(ids), body, format="json")
                if target in WRITABLE[persona]:
                    ok = (200, 201, 400)
                    assert response.status_code in ok, where(persona, target, name, response)
                elif target in VISIBLE[persona]:
                    assert response.status_code == 403, where(persona, target, name, response)
                else:
                    assert response.status_code == 404, where(persona, target, name, response)


# --- Follow-ups, hospital visits and metrics ---------------------------------------------


@pytest.fixture
def followup_world(world):
    """The world above, each case with an ER visit (which enrols it in the post-discharge
    protocol) besides the follow-up its first contact scheduled."""
    import datetime

    from django.utils import timezone

    from tests.followups.factories import ed_visit

    users, cases = world
    for case in cases.values():
        ed_visit(case, arrived_at=timezone.now() - datetime.timedelta(hours=6))
    return users, cases


def _followup_ids(case):
    return {
        "followup": case.followups.order_by("pk").first().pk,
        "visit": case.hospital_visits.get().pk,
    }


FOLLOWUP_READ_API = [
    ("api followup", lambda i: f"/api/v1/followups/{i['followup']}/"),
    ("api hospital visit", lambda i: f"/api/v1/hospital-visits/{i['visit']}/"),
]
FOLLOWUP_WRITE_API = [
    ("api followup attempt", lambda i: f"/api/v1/followups/{i['followup']}/attempts/", {}),
    ("api followup move", lambda i: f"/api/v1/followups/{i['followup']}/move/", {}),
    ("api followup cancel", lambda i: f"/api/v1/followups/{i['followup']}/cancel/", {}),
    (
        "api followup complete",
        lambda i: f"/api/v1/followups/{i['followup']}/complete/",
        {"contact": 0},
    ),
    (
        "api hospital discharge",
        lambda i: f"/api/v1/hospital-visits/{i['visit']}/discharge/",
        {},
    ),
]
METRICS_API = [
    f"/api/v1/metrics/{name}/"
    for name in (
        "compliance",
        "fum",
        "fua",
        "drop-off",
        "no-contact",
        "programme",
        "trend",
        "plans",
        "plans/72h-made",
    )
]
# Who sees the numbers: supervisors (their teams) and agency admins (their agency).
SEES_METRICS = {"sam", "dana"}


@pytest.mark.parametrize("persona", PERSONAS)
class TestFollowUpMatrix:
    def test_reads(self, api, followup_world, persona):
        users, cases = followup_world
        api.force_authenticate(users[persona])
        for target in TARGETS:
            ids = _followup_ids(cases[target])
            for name, url in FOLLOWUP_READ_API:
                before = _last_audit_id()
                response = api.get(url(ids))
                expected = 200 if target in VISIBLE[persona] else 404
                assert response.status_code == expected, where(persona, target, name, response)
                if expected == 404:
                    assert _denied_logged(users[persona], before), (persona, target, name)
                else:
                    assert AuditEvent.objects.filter(
                        pk__gt=before, actor=users[persona], action=Action.VIEW
                    ).exists(), (persona, target, name)

    def test_writes(self, api, followup_world, persona):
        users, cases = followup_world
        api.force_authenticate(users[persona])
        for target in TARGETS:
            ids = _followup_ids(cases[target])
            for name, url, body in FOLLOWUP_WRITE_API:
                before = _last_audit_id()
                response = api.post(url(ids), body, format="json")
                if target in WRITABLE[persona]:
                    # The bodies are incomplete: a writer gets the field errors.
                    assert response.status_code == 400, where(persona, target, name, response)
                elif target in VISIBLE[persona]:
                    assert response.status_code == 403, where(persona, target, name, response)
                    assert _denied_logged(users[persona], before), (persona, target, name)
                else:
                    assert response.status_code == 404, where(persona, target, name, response)
                    assert _denied_logged(users[persona], before), (persona, target, name)

    def test_lists_show_only_visible_cases(self, api, followup_world, persona):
        users, cases = followup_world
        user = users[persona]
        api.force_authenticate(user)
        shown = {cases[t].pk for t in TARGETS if t in VISIBLE[persona]}

        rows = api.get("/api/v1/followups/?page_size=100").json()["results"]
        assert {row["case"] for row in rows} == shown
        rows = api.get("/api/v1/hospital-visits/?page_size=100").json()["results"]
        assert {row["case"] for row in rows} == shown
        rows = api.get("/api/v1/followups/today/?page_size=100").json()["results"]
        assert {row["assigned_to"]["id"] for row in rows} <= {user.pk}
        assert {row["case"] for row in rows} <= shown

    def test_metrics(self, api, followup_world, persona):
        users, _ = followup_world
        api.force_authenticate(users[persona])
        for url in METRICS_API:
            before = _last_audit_id()
            response = api.get(url)
            if persona in SEES_METRICS:
                assert response.status_code == 200, (persona, url, response.status_code)
            else:
                assert response.status_code == 403, (persona, url, response.status_code)
                assert _denied_logged(users[persona], before), (persona, url)


# --- Follow-up pages (web) ---------------------------------------------------------------


def _followup_page_ids(case):
    return {
        **_followup_ids(case),
        "case": case.pk,
        "enrolment": case.enrolments.order_by("pk").first().pk,
    }


FOLLOWUP_WEB_WRITES = [
    ("attempt", lambda i: reverse("followups:attempt", args=[i["followup"]]), {}),
    ("undo", lambda i: reverse("followups:undo_attempt", args=[i["followup"], 1]), {}),
    ("move", lambda i: reverse("followups:move", args=[i["followup"]]), {}),
    ("cancel", lambda i: reverse("followups:cancel", args=[i["followup"]]), {}),
    ("done", lambda i: reverse("followups:complete", args=[i["followup"]]), {"note": "x" * 301}),
    ("add", lambda i: reverse("casework:followup_add", args=[i["case"]]), {}),
    ("visit add", lambda i: reverse("casework:visit_add", args=[i["case"]]), {}),
    ("discharge", lambda i: reverse("casework:visit_discharge", args=[i["visit"]]), {}),
    ("enrolment end", lambda i: reverse("casework:enrolment_end", args=[i["enrolment"]]), {}),
]


def _followup_state():
    from followups.models import Attempt, Enrolment, FollowUp, HospitalVisit

    return (
        list(FollowUp.objects.values_list("pk", "status", "due_at", "cancel_reason")),
        Attempt.objects.count(),
        list(HospitalVisit.objects.values_list("pk", "discharged_at")),
        list(Enrolment.objects.values_list("pk", "status")),
    )


@pytest.mark.parametrize("persona", PERSONAS)
class TestFollowUpPagesMatrix:
    def test_detail_page(self, client, followup_world, persona):
        users, cases = followup_world
        client.force_login(users[persona])
        for target in TARGETS:
            ids = _followup_page_ids(cases[target])
            before = _last_audit_id()
            response = client.get(reverse("followups:detail", args=[ids["followup"]]))
            if target in VISIBLE[persona]:
                assert response.status_code == 200, where(persona, target, "detail", response)
                assert AuditEvent.objects.filter(
                    pk__gt=before,
                    actor=users[persona],
                    action=Action.VIEW,
                    client_id=cases[target].client_id,
                ).exists(), (persona, target)
            else:
                assert response.status_code == 404, where(persona, target, "detail", response)
                assert _denied_logged(users[persona], before), (persona, target)

    def test_writes_are_refused_outside_scope(self, client, followup_world, persona):
        """Invalid bodies: a writer gets the form back (200, nothing saved); a reader 403;
        anyone else 404. Nothing changes for any of them."""
        users, cases = followup_world
        client.force_login(users[persona])
        saved = _followup_state()
        for target in TARGETS:
            ids = _followup_page_ids(cases[target])
            for name, url, body in FOLLOWUP_WEB_WRITES:
                before = _last_audit_id()
                response = client.post(url(ids), body)
                if target in WRITABLE[persona]:
                    assert response.status_code == 200, where(persona, target, name, response)
                elif target in VISIBLE[persona]:
                    assert response.status_code == 403, where(persona, target, name, response)
                    assert _denied_logged(users[persona], before), (persona, target, name)
                else:
                    assert response.status_code == 404, where(persona, target, name, response)
                    assert _denied_logged(users[persona], before), (persona, target, name)
        assert _followup_state() == saved

    def test_today_lists_only_own_visible_rows(self, client, followup_world, persona):
        users, cases = followup_world
        user = users[persona]
        client.force_login(user)
        response = client.get(reverse("followups:today"))
        if not user.works_cases:
            assert response.status_code == 403
            return
        assert response.status_code == 200
        shown = {
            fu.case_id for group in ("due", "coming", "missed") for fu in response.context[group]
        }
        assert shown <= {cases[t].pk for t in TARGETS if t in VISIBLE[persona]}
        assert all(
            fu.assigned_to_id == user.pk
            for group in ("due", "coming", "missed")
            for fu in response.context[group]
        )
        for target in TARGETS:
            if target not in VISIBLE[persona]:
                assert cases[target].client.legal_name not in response.content.decode()

    def test_metrics_and_deliveries_pages(self, client, followup_world, persona):
        users, _ = followup_world
        client.force_login(users[persona])
        for url in (
            reverse("metrics:compliance"),
            reverse("metrics:drilldown", args=["followups-due"]),
            reverse("notifications:deliveries"),
        ):
            before = _last_audit_id()
            response = client.get(url)
            if persona in SEES_METRICS:
                assert response.status_code == 200, (persona, url, response.status_code)
            else:
                assert response.status_code == 403, (persona, url, response.status_code)
                assert _denied_logged(users[persona], before), (persona, url)


@pytest.mark.parametrize(
    "persona, team", [("sam", "team_a2"), ("sam", "team_b"), ("dana", "team_b")]
)
def test_metrics_of_a_team_outside_scope_are_refused(
    api, client, followup_world, persona, team, request
):
    """A supervisor asks for another team's numbers, an admin for another agency's: the
    API answers 400 as for an unknown id, the page shows its default scope, and both
    leave a refusal in the trail."""
    users, cases = followup_world
    team = request.getfixturevalue(team)
    api.force_authenticate(users[persona])
    for url in METRICS_API:
        before = _last_audit_id()
        response = api.get(url, {"team": team.pk})
        assert response.status_code == 400, (persona, url, response.status_code)
        assert "team" in response.json()
        assert _denied_logged(users[persona], before), (persona, url)
    client.force_login(users[persona])
    before = _last_audit_id()
    response = client.get(reverse("metrics:compliance"), {"team": team.pk})
    assert response.status_code == 200
    assert response.context["scope"].team is None
    assert response.context["form"].has_error("team")
    assert _denied_logged(users[persona], before)
    drilldown = client.get(reverse("metrics:drilldown", args=["drop-off"]), {"team": team.pk})
    assert drilldown.status_code == 200
    shown = {case.pk for case in drilldown.context["items"]}
    assert cases["carol"].pk not in shown
    if persona == "sam":
        assert cases["erin"].pk not in shown
