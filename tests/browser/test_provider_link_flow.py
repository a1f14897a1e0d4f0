"""The receiving provider, with no account, opens the emailed link on a phone, sees only
what the client agreed to share, accepts the referral and later records the client as
seen: the loop closes on the worker's side."""

import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from referrals.models import EventVia, ProviderLink, ReferralEvent, ShareItem, Status
from tests.browser.support import ARTIFACTS, LIVE_SERVER_DB, SMALL_PHONE, fits_the_screen
from tests.conftest import new_client
from tests.referrals.factories import give_consent, sent_referral

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


@pytest.fixture
def referral(alice, record_contact_for):
    """Sent under a consent to share the name and the reason for the referral only."""
    case = record_contact_for(
        alice,
        new_client_data=new_client(
            legal_name="Quinn Avery",
            date_of_birth=datetime.date(1992, 11, 3),
            phone="541-555-0199",
        ),
    ).case
    consent = give_consent(alice, case, scope=[ShareItem.NAME, ShareItem.REASON])
    return sent_referral(
        alice,
        case,
        consent=consent,
        shared_items=[ShareItem.NAME, ShareItem.REASON],
        reason="Needs a bed tonight; sleeping by the river.",
    )


def test_the_provider_accepts_the_referral_and_records_the_client_seen(
    phone, live_server, referral
):
    page = phone
    page.set_viewport_size(SMALL_PHONE)
    ARTIFACTS.mkdir(exist_ok=True)
    link = ProviderLink.objects.get(referral=referral)

    page.goto(live_server.url + reverse("provider:link", args=[link.token()]))
    expect(page.get_by_role("heading", name="Referral from Agency A")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Sent")
    expect(page.locator("#client-name")).to_have_text("Quinn Avery")
    expect(page.locator("#client-reason")).to_have_text(
        "Needs a bed tonight; sleeping by the river."
    )
    # The consent covers neither the phone nor the date of birth, nor anything clinical.
    shown = page.locator("main").inner_text()
    for withheld in ("541-555-0199", "1992", "Suicide risk", "Concerns"):
        assert withheld not in shown
    for absent in ("#client-phone", "#client-dob", "#client-risk", "#client-concerns"):
        expect(page.locator(absent)).to_have_count(0)
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "provider-link-phone.png", full_page=True)

    accept = page.locator("details[data-to-status=accepted]")
    accept.locator("summary").click()
    accept.get_by_label("Note").fill("Bed 12 is held for tonight.")
    accept.get_by_role("button", name="Accept").click()
    expect(page.locator("#done")).to_have_text("Recorded: accepted. Thank you.")
    expect(page.locator("#status")).to_have_text("Accepted")
    referral.refresh_from_db()
    assert referral.status == Status.ACCEPTED
    assert referral.accepted_at is not None

    seen_on = referral.agency.today()
    seen = page.locator("details[data-to-status=completed]")
    seen.locator("summary").click()
    seen.get_by_label("Date seen").fill(seen_on.isoformat())
    seen.get_by_role("button", name="Client seen").click()
    expect(page.locator("#done")).to_have_text("Recorded: completed. Thank you.")
    expect(page.locator("#status")).to_have_text("Completed")
    # The loop is closed: nothing is left to do on the link.
    expect(page.locator("details.status-action")).to_have_count(0)
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "provider-link-seen-phone.png", full_page=True)

    referral.refresh_from_db()
    assert referral.status == Status.COMPLETED
    assert referral.service_date == seen_on
    assert referral.loop_closed
    changes = ReferralEvent.objects.filter(
        referral=referral, to_status__in=["accepted", "completed"]
    )
    assert [(e.to_status, e.via, e.actor_id) for e in changes.order_by("at", "pk")] == [
        (Status.ACCEPTED, EventVia.PROVIDER_LINK, None),
        (Status.COMPLETED, EventVia.PROVIDER_LINK, None),
    ]
    assert changes.get(to_status=Status.ACCEPTED).note == "Bed 12 is held for tonight."
