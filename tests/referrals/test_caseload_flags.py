"""Stale referrals flagged on the worker's caseload (STALE_AFTER, referrals.staleness)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from directory.models import NeedCategory
from referrals.models import Status
from tests.cases.factories import CaseFactory, ClientFactory
from tests.referrals.factories import (
    ReferralFactory,
    backdate,
    make_referral,
    move_to,
    sent_referral,
)

pytestmark = pytest.mark.django_db

CASELOAD_URL = reverse("casework:caseload")


def flags(response):
    """Case id -> the referral flag on its row ("" when none)."""
    page = response.content.decode()
    result = {}
    for match in re.finditer(r'data-case="(\d+)"(.*?)</a>', page, re.S):
        flag = re.search(r'class="small text-warning-emphasis referral-flag">⚠ ([^<]+)<', match[2])
        result[int(match[1])] = flag[1] if flag else ""
    return result


def idle(referral, days):
    backdate(referral, days)


class TestStaleReferralFlag:
    def test_a_referral_not_accepted_in_time_is_flagged(
        self, login, alice, alice_case, bob, bob_case
    ):
        idle(sent_referral(alice, alice_case), days=10)
        sent_referral(bob, bob_case)

        shown = flags(login(alice).get(CASELOAD_URL))

        assert shown == {
            alice_case.pk: "Referral not accepted after 3 business days",
            bob_case.pk: "",
        }

    def test_the_limit_depends_on_the_need(self, login, alice, alice_case):
        # Domestic violence: 1 business day (STALE_AFTER).
        idle(sent_referral(alice, alice_case, need_category=NeedCategory.DOMESTIC_VIOLENCE), 4)
        shown = flags(login(alice).get(CASELOAD_URL))
        assert shown[alice_case.pk] == "Referral not accepted after 1 business day"

    def test_an_accepted_referral_with_no_news_is_flagged(self, login, alice, alice_case):
        idle(move_to(sent_referral(alice, alice_case), Status.ACCEPTED), days=40)
        shown = flags(login(alice).get(CASELOAD_URL))
        assert shown[alice_case.pk] == (
            "Referral: client not seen and no update for 30 days"  # housing
        )

    def test_drafts_and_closed_referrals_are_not(self, login, alice, alice_case):
        idle(make_referral(alice, alice_case), days=30)
        done = move_to(sent_referral(alice, alice_case), Status.REJECTED)
        idle(done, days=30)
        assert flags(login(alice).get(CASELOAD_URL)) == {alice_case.pk: ""}

    def test_no_extra_query_for_the_flags(self, login, alice, django_assert_max_num_queries):
        client = login(alice)

        def add(count):
            for _ in range(count):
                case = CaseFactory(client=ClientFactory(agency=alice.agency), assigned_worker=alice)
                ReferralFactory(
                    case=case,
                    status=Status.REQUESTED,
                    sent_at=timezone.now(),
                    last_activity_at=timezone.now() - datetime.timedelta(days=10),
                )

        add(2)
        # +1: the inbox count in the nav; +1: the next follow-up due of the rows; +1: the
        # sections' counts.
        with django_assert_max_num_queries(12):
            assert len([f for f in flags(client.get(CASELOAD_URL)).values() if f]) == 2
        add(10)
        with django_assert_max_num_queries(12):
            assert len([f for f in flags(client.get(CASELOAD_URL)).values() if f]) == 12
