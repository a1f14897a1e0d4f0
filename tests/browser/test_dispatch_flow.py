"""Dispatch in two real browsers at once: the dispatcher's desk and the team's phone,
against casebook over ASGI (uvicorn). Each change one makes is seen by the other within
2 seconds, without reloading; a missed check-in and an SOS reach the board and the
supervisor; the contact opens pre-filled from the request."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from dispatch import services
from dispatch.models import Credential, RequestStatus, TeamRequest
from dispatch.services import safety
from notifications.models import Kind, Notification
from tests.accounts.factories import UserFactory
from tests.browser.conftest import elsewhere
from tests.browser.support import LIVE_SERVER_DB, PASSWORD
from tests.dispatch.factories import UnitFactory

pytestmark = [*LIVE_SERVER_DB, pytest.mark.browser]

LIVE = 2_000  # ms: the "within 2 seconds"


def sign_in(page, server, username, landing):
    page.goto(server.url + reverse("login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(landing) + "$"))


def connected(page):
    expect(page.locator("body")).to_have_attribute("data-live", "open", timeout=5_000)


def csp_watch(page, seen):
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )


@pytest.fixture
def team(agency_a, team_a, alice, bob, sam):
    """Van 1 on shift (alice and bob), Van 2 on shift elsewhere (erin's); dex dispatches;
    sam supervises Van 1's team and has an email address."""
    sam.email = "sam@example.org"
    sam.save(update_fields=["email"])
    dex = UserFactory(username="dex", agency=agency_a, role=Role.DISPATCHER)
    van = UnitFactory(
        agency=agency_a,
        team=team_a,
        call_sign="Van 1",
        base_latitude="44.05",
        base_longitude="-123.09",
    )
    services.start_shift(
        unit=van,
        members=[(alice, Credential.LICENSED_CLINICIAN), (bob, Credential.PEER_SPECIALIST)],
        actor=dex,
    )
    return dex, van


def test_a_request_from_the_call_to_the_contact(team, sam, desk_and_phone, asgi_server):
    desk, phone = desk_and_phone
    dex, van = team
    violations = []
    csp_watch(desk, violations)
    csp_watch(phone, violations)
    phone.on("dialog", lambda dialog: dialog.accept())

    sign_in(desk, asgi_server, "dex", reverse("dispatch:board"))
    connected(desk)
    sign_in(phone, asgi_server, "alice", reverse("casework:caseload"))
    phone.goto(asgi_server.url + reverse("dispatch:unit"))
    connected(phone)
    expect(phone.locator("#unit-idle")).to_contain_text("Available")

    # The dispatcher takes the call.
    desk.get_by_role("link", name="New request").click()
    desk.get_by_label("Emergent").check()
    desk.get_by_label("Reason").select_option("suicidal")
    desk.get_by_label("Source").select_option("lifeline_988")
    desk.get_by_label("Address or place").fill("Skinner Butte Park")
    desk.get_by_label("Latitude").fill("44.0566")
    desk.get_by_label("Longitude").fill("-123.0937")
    desk.get_by_label("Weapons at the scene").select_option("true")
    desk.get_by_label("Other hazards").fill("Knife mentioned by the caller")
    desk.get_by_role("button", name="Record the request").click()
    request = TeamRequest.objects.get()
    desk.wait_for_url(re.compile(reverse("dispatch:request", args=[request.pk]) + "$"))

    # Van 1 is suggested, sent, and the phone shows it with the hazards at once.
    desk.get_by_role("button", name="Send Van 1").click()
    expect(phone.locator("#acknowledge-button")).to_be_visible(timeout=LIVE)
    expect(phone.locator("#unit-hazards")).to_contain_text("Weapons")
    expect(phone.locator("#unit-hazards")).to_contain_text("Knife mentioned by the caller")

    desk.get_by_role("link", name="Board").click()
    connected(desk)
    live_row = desk.locator(".live-row", has_text="Van 1")
    expect(live_row).to_contain_text("not acknowledged")
    phone.locator("#acknowledge-button").click()
    expect(live_row).not_to_contain_text("not acknowledged", timeout=LIVE)

    van_status = desk.locator(f'.unit-row[data-unit="{van.pk}"] .unit-status')
    for label in ("En route", "On scene"):
        phone.locator("#step-button").click()
        expect(van_status).to_have_text(label, timeout=LIVE)

    # On scene the team misses its check-in: the board and the supervisor are told.
    connected(phone)
    elsewhere(safety.sweep_safety, now=van_due_after(van))
    alert = desk.locator(".dispatch-alert", has_text="Check-in missed: Van 1")
    expect(alert).to_be_visible(timeout=LIVE)
    assert Notification.objects.filter(recipient=sam, kind=Kind.DISPATCH_ALERT).count() == 2
    expect(phone.get_by_text("Check-in missed")).to_be_visible(timeout=LIVE)
    phone.locator("#check-in-button").click()
    expect(alert).to_have_count(0, timeout=LIVE)

    # SOS: at once, with where the unit was last known.
    phone.locator("#sos-button").click()
    sos = desk.locator(".dispatch-alert", has_text="SOS: Van 1")
    expect(sos).to_be_visible(timeout=LIVE)
    assert any(m.to == ["sam@example.org"] and "SOS from Van 1" in m.subject for m in mail.outbox)
    sos.get_by_label("How it was handled").fill("Called the team: safe")
    sos.get_by_role("button", name="Resolve").click()
    expect(desk.locator(".dispatch-alert")).to_have_count(0)

    # The team leaves with the person, arrives, hands over and is back in service.
    phone.get_by_text("Leaving with the person").click()
    phone.get_by_label("Taking them to").fill("Crisis centre")
    phone.get_by_label("Involuntary hold").select_option("false")
    phone.get_by_label("Involuntary transport").select_option("false")
    phone.locator("#transport-button").click()
    expect(van_status).to_have_text("Transporting", timeout=LIVE)
    phone.locator("#step-button").click()
    expect(van_status).to_have_text("At destination", timeout=LIVE)
    expect(phone.locator("#step-button")).to_have_text("Transfer of care")
    phone.locator("#step-button").click()
    expect(phone.locator("#step-button")).to_have_text("Back in service")
    phone.locator("#step-button").click()
    expect(van_status).to_have_text("Available", timeout=LIVE)
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED
    assert (request.destination, request.involuntary_hold) == ("Crisis centre", False)
    assert all(
        getattr(request, stamp)
        for stamp in ("acknowledged_at", "en_route_at", "on_scene_at", "left_scene_at")
        + ("at_destination_at", "transfer_of_care_at", "back_in_service_at")
    )
    phone.locator("#record-contact").click()
    phone.wait_for_url(re.compile(r"/contacts/new/\?request="))
    expect(phone.locator("#id_received_at")).to_have_value(
        request.received_at.astimezone(request.agency.zone).strftime("%Y-%m-%dT%H:%M")
    )
    expect(phone.locator("#id_on_scene_at")).to_have_value(
        request.on_scene_at.astimezone(request.agency.zone).strftime("%Y-%m-%dT%H:%M")
    )
    assert violations == []


def van_due_after(van):
    """A moment just past the unit's check-in deadline."""
    import datetime

    van.refresh_from_db()
    return van.check_in_due_at + datetime.timedelta(seconds=1)


def test_a_page_that_loses_its_connection_says_so_and_catches_up(team, desk_and_phone, asgi_server):
    desk, _ = desk_and_phone
    dex, van = team
    sign_in(desk, asgi_server, "dex", reverse("dispatch:board"))
    connected(desk)
    status = desk.locator("#live-status")
    expect(status).to_be_hidden()

    asgi_server.stop()  # a restart: the page's socket is closed
    expect(status).to_be_visible(timeout=LIVE)
    elsewhere(
        services.record_request,
        actor=dex,
        data={
            "source": "team_line",
            "priority": "urgent",
            "reason": "welfare_check",
            "location_text": "Amazon Park",
        },
    )
    asgi_server.start()
    connected(desk)  # reconnects within 5 s (static/js/dispatch.js)
    expect(status).to_be_hidden()
    expect(desk.locator(".waiting-row", has_text="Amazon Park")).to_be_visible(timeout=LIVE)
