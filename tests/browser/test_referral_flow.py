"""A social worker, on a phone, finds a service in the directory from a client's case and
sends the referral with the client's verbal consent, recorded on the spot; the provider is
emailed a link, and the disclosure is on record."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from playwright.sync_api import expect

from directory.models import NeedCategory
from referrals.models import ConsentMethod, Disclosure, ProviderLink, Referral, ShareItem, Status
from tests.browser.support import ARTIFACTS, LIVE_SERVER_DB, SMALL_PHONE, fits_the_screen, log_in
from tests.directory.factories import (
    OrganizationFactory,
    PhoneFactory,
    ServiceFactory,
    tag_service,
)

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

INTAKE = "intake@riverside-shelter.example"


@pytest.fixture
def shelter(agency_a):
    """The agency's own entry in the directory: a shelter, under housing."""
    organization = OrganizationFactory(agency=agency_a, name="Riverside Housing Collective")
    service = ServiceFactory(
        agency=agency_a,
        organization=organization,
        name="Riverside Night Shelter",
        description="Emergency beds for adults, intake every evening.",
        email=INTAKE,
    )
    PhoneFactory(service=service, number="541-555-0177")
    tag_service(service, NeedCategory.HOUSING)
    # Another housing service that the words typed must leave out.
    other = ServiceFactory(agency=agency_a, name="Downtown Rent Assistance")
    tag_service(other, NeedCategory.HOUSING)
    return service


def test_a_worker_finds_a_service_and_sends_a_referral_with_consent(
    phone, live_server, alice, alice_case, shelter
):
    page = phone
    page.set_viewport_size(SMALL_PHONE)
    ARTIFACTS.mkdir(exist_ok=True)

    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("casework:case_detail", args=[alice_case.pk]))
    fits_the_screen(page)

    # From the case: a new referral, then the directory, which knows the case.
    page.locator("#case-referrals").get_by_role("link", name="New referral").click()
    page.wait_for_url(re.compile(r"/referrals/new/\?case=\d+$"))
    page.get_by_role("link", name="Find a service").click()
    page.wait_for_url(re.compile(r"/directory/\?case=\d+$"))
    expect(page.get_by_text(f"Referring from case #{alice_case.pk}")).to_be_visible()

    page.locator("label[for=need-housing]").click()
    expect(page.locator(".directory-result", has_text="Downtown Rent Assistance")).to_be_visible()
    page.get_by_label("Words").press_sequentially("night shelter")
    expect(page.locator(".directory-result", has_text="Downtown Rent Assistance")).to_have_count(0)
    result = page.locator(".directory-result", has_text="Riverside Night Shelter")
    expect(result).to_be_visible()
    expect(result).to_contain_text("Riverside Housing Collective")
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "directory-search-phone.png", full_page=True)

    result.get_by_role("link", name="Refer").click()
    page.wait_for_url(re.compile(r"/referrals/new/\?case=\d+&service="))
    expect(page.locator("#chosen-service")).to_contain_text("Riverside Night Shelter")

    page.get_by_label("Need").select_option(label="Housing and shelter")
    page.get_by_role("textbox", name="Reason for referral").fill(
        "Sleeping outside since Monday; needs a bed."
    )
    shares = page.get_by_role("group", name="What to share")
    for item in ("Name", "Phone number", "Reason for referral"):
        shares.get_by_label(item, exact=True).check()

    # No consent on file: the new consent is asked for right here.
    consent = page.locator("[data-consent-new]")
    expect(consent).to_be_visible()
    consent.get_by_label("Verbal").check()
    for item in ("Name", "Phone number", "Reason for referral"):
        consent.get_by_label(item, exact=True).check()
    consent.get_by_label("With whom").fill("Riverside Night Shelter")
    consent.get_by_label("Purpose").fill("A bed at the shelter")
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "referral-form-phone.png", full_page=True)

    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(r"/referrals/\d+/$"))
    expect(page.get_by_text("Referral sent.")).to_be_visible()
    expect(page.locator("h1 + .referral-status")).to_have_text("Sent")
    disclosure = page.locator("#referral-disclosures li")
    expect(disclosure).to_have_count(1)
    expect(disclosure).to_contain_text("Riverside Housing Collective — Riverside Night Shelter")
    expect(disclosure).to_contain_text("Name, Phone number, Reason for referral")
    expect(page.locator("#provider-links")).to_contain_text(f"To {INTAKE}")
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "referral-sent-phone.png", full_page=True)

    referral = Referral.objects.get(case=alice_case)
    assert referral.status == Status.REQUESTED
    assert referral.service == shelter
    assert referral.shared_items == [ShareItem.NAME, ShareItem.PHONE, ShareItem.REASON]
    assert referral.consent.method == ConsentMethod.VERBAL
    assert referral.consent.obtained_by == alice
    assert set(referral.consent.scope) == {ShareItem.NAME, ShareItem.PHONE, ShareItem.REASON}
    assert Disclosure.objects.get(referral=referral).consent == referral.consent
    link = ProviderLink.objects.get(referral=referral)
    assert link.sent_to == INTAKE
    assert [message.to for message in mail.outbox] == [[INTAKE]]
    assert f"/p/{link.token()}/" in mail.outbox[0].body

    # The case shows the referral and what was disclosed under which consent.
    page.get_by_role("link", name=alice_case.client.display_name).click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    expect(page.locator("#case-referrals")).to_contain_text("Riverside Night Shelter")
    expect(page.locator("#case-disclosures li")).to_have_count(1)
    fits_the_screen(page)
