"""axe-core (the npm package, injected into the page) finds nothing serious or critical on
the pages a worker and a supervisor live in: the caseload, a case, Today and compliance,
on a phone and on a desktop."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from followups import services as followup_services
from followups.models import FollowUp
from followups.protocols import install_standard_protocols
from referrals.models import Status
from tests.browser.support import (
    DESKTOP,
    LIVE_SERVER_DB,
    PHONE,
    browser_page,
    log_in,
    serious_violations,
)
from tests.conftest import HIGH_RISK, LOW_RISK, MODERATE_RISK
from tests.followups.factories import due_followup, ed_visit, make_case
from tests.referrals.factories import move_to, sent_referral

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

DEVICES = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture(params=list(DEVICES))
def device(request, transactional_db, monkeypatch, live_server):
    yield from browser_page(monkeypatch, DEVICES[request.param])


@pytest.fixture
def caseload(alice, bob):
    """Alice's cases at every risk level, and a teammate's; follow-ups due, late and done,
    referrals in several statuses."""
    install_standard_protocols(alice.agency_id)
    now = timezone.now()
    high = make_case(alice, legal_name="Robin Vale", **HIGH_RISK)
    moderate = make_case(alice, legal_name="Sky Marsh", **MODERATE_RISK)
    make_case(alice, legal_name="Ash Lee", **LOW_RISK)
    make_case(bob, legal_name="Kim Park")
    due_followup(moderate, due_in=datetime.timedelta(hours=2), reason="Check the safety plan")
    due_followup(high, due_in=-datetime.timedelta(hours=1), reason="Call back")
    ed_visit(moderate, arrived_at=now - datetime.timedelta(days=20))
    first = FollowUp.objects.filter(case=moderate).order_by("due_at").first()
    followup_services.complete_followup(actor=alice, followup=first, at=first.due_at)
    sent_referral(alice, moderate)
    move_to(sent_referral(alice, moderate), Status.ACCEPTED)
    return moderate


def test_the_pages_a_worker_uses_have_no_serious_violations(device, live_server, alice, caseload):
    page = device
    log_in(page, live_server, "alice")
    for url in (
        reverse("casework:caseload"),
        reverse("casework:case_detail", args=[caseload.pk]),
        reverse("followups:today"),
    ):
        page.goto(live_server.url + url)
        assert serious_violations(page) == [], url


def test_the_compliance_page_has_no_serious_violations(device, live_server, sam, caseload):
    page = device
    compliance = reverse("metrics:compliance")
    page.goto(live_server.url + compliance)
    log_in(page, live_server, "sam", next_url=compliance)
    expect(page.locator("#trend svg[role=group]")).to_be_visible()
    assert serious_violations(page) == []
