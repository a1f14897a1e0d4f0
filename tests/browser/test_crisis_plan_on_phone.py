"""The crisis response plan on the team's phone, in two real browsers against casebook over
ASGI: the dispatcher sends a unit to a request for a person with an approved plan, and the
phone of a member of that unit (375 px wide) shows the plan's hazards and what helps at
once, audited; the live refreshes after keep it on screen without sending it again."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from audit.models import Action, AuditEvent
from dispatch import services as dispatch_services
from dispatch.models import Assignment, Credential
from tests.accounts.factories import UserFactory
from tests.browser.conftest import elsewhere
from tests.browser.support import LIVE_SERVER_DB, PASSWORD, SMALL_PHONE, fits_the_screen
from tests.dispatch.factories import UnitFactory
from tests.plans.factories import make_approved_crisis_plan

pytestmark = [*LIVE_SERVER_DB, pytest.mark.browser]

LIVE = 2_000  # ms: as the dispatch flow's "within 2 seconds"


def sign_in(page, server, username, landing):
    page.goto(server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(landing) + "$"))


def connected(page):
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=5_000)


@pytest.fixture
def call(agency_a, alice, sam, erin, alice_case):
    """alice's client has an approved plan (sam approved it); Van 2 is on shift with erin,
    of another team (she sees the plan because her unit is sent, not through a caseload);
    a request for the client waits."""
    plan = make_approved_crisis_plan(alice, sam, alice_case)
    dex = UserFactory(username="dex", agency=agency_a, role=Role.DISPATCHER)
    van = UnitFactory(agency=agency_a, call_sign="Van 2")
    dispatch_services.start_shift(unit=van, members=[(erin, Credential.EMT_PARAMEDIC)], actor=dex)
    request = dispatch_services.record_request(
        actor=dex,
        data={
            "source": "team_line",
            "priority": "urgent",
            "reason": "welfare_check",
            "location_text": "Skinner Butte Park",
            "client": alice_case.client,
        },
    )
    return plan, request, dex


def phone_views(user, plan):
    return AuditEvent.objects.filter(
        actor=user, action=Action.VIEW, object_type="crisisplan", object_id=str(plan.pk)
    )


def test_the_team_sent_reads_the_plan_on_its_phone(call, erin, desk_and_phone, asgi_server):
    plan, request, dex = call
    desk, phone = desk_and_phone
    phone.set_viewport_size(SMALL_PHONE)

    sign_in(phone, asgi_server, "erin", reverse("casework:caseload"))
    phone.goto(asgi_server.url + reverse("dispatch:unit"))
    connected(phone)
    expect(phone.locator("#unit-idle")).to_contain_text("Available")
    expect(phone.locator(".crisis-plan-phone")).to_have_count(0)

    sign_in(desk, asgi_server, "dex", reverse("dispatch:board"))
    desk.goto(asgi_server.url + reverse("dispatch:request", args=[request.pk]))
    desk.get_by_role("button", name="Send Van 2").click()
    expect(desk.locator("#request-crisis-plan")).to_contain_text("Large dog in the yard")

    # The phone shows the plan with its hazards first, at once, and the row names it.
    shown = phone.locator(".crisis-plan-phone")
    expect(shown.locator(".crisis-plan-hazards")).to_contain_text(
        "Large dog in the yard", timeout=LIVE
    )
    expect(shown.locator(".crisis-plan-helps")).to_contain_text("Speak slowly, offer water")
    expect(phone.locator("#crisis-plan-notice")).to_be_visible()
    assignment = Assignment.objects.get(request=request)
    (event,) = phone_views(erin, plan)
    assert event.client_id == plan.client_id
    assert event.detail == {"where": "unit phone", "assignment_id": assignment.pk}
    fits_the_screen(phone)

    # A live refresh (another request recorded) names the plan shown and keeps the very
    # element on screen (marked here), while the rest of the panel is drawn anew.
    shown.evaluate("(e) => { e.dataset.before = 'yes'; }")
    phone.locator("#crisis-plan-shown").evaluate("(e) => { e.dataset.before = 'yes'; }")
    with phone.expect_response(lambda r: reverse("dispatch:unit_panel") in r.url) as refresh:
        elsewhere(
            dispatch_services.record_request,
            actor=dex,
            data={
                "source": "team_line",
                "priority": "urgent",
                "reason": "welfare_check",
                "location_text": "Amazon Park",
            },
        )
    assert "shown=" + f"{assignment.pk}-{plan.pk}-0" in refresh.value.url
    expect(phone.locator("#crisis-plan-shown[data-before]")).to_have_count(0)
    expect(phone.locator(".crisis-plan-phone[data-before]")).to_contain_text(
        "Large dog in the yard"
    )
    assert phone_views(erin, plan).count() == 1
