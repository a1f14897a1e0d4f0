"""The hand-built referral dataset the report's tests work their numbers out from.

Agency A's time zone is America/Los_Angeles: in January that is UTC-8, so 17:00Z is
09:00 local the same day, and 05:00Z is 21:00 local the day before.
"""

import datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission

from referrals.models import Outcome, Status
from tests.cases.factories import CaseFactory, ClientFactory
from tests.directory.factories import OrganizationFactory, ServiceFactory
from tests.referrals.factories import ReferralFactory


def utc(month, day, hour, minute=0):
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=datetime.UTC)


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.EXPORT_DIR = tmp_path / "exports"
    return settings.EXPORT_DIR


@pytest.fixture
def grant_identified():
    """grant_identified(user) -> the user, reloaded, with referrals.export_identified."""

    def grant(user):
        user.user_permissions.add(Permission.objects.get(codename="export_identified"))
        return type(user).objects.get(pk=user.pk)

    return grant


@pytest.fixture
def dataset(agency_a, agency_b, team_a, team_a2, alice, bob, erin, carol):
    jose = ClientFactory(
        agency=agency_a,
        legal_name="José Núñez",
        date_of_birth=datetime.date(1984, 2, 29),
        phone="541-555-0111",
    )
    case_a1 = CaseFactory(client=jose, assigned_worker=alice, team=team_a)
    case_a2 = CaseFactory(client=ClientFactory(agency=agency_a), assigned_worker=bob, team=team_a)
    case_e = CaseFactory(client=ClientFactory(agency=agency_a), assigned_worker=erin, team=team_a2)
    case_b = CaseFactory(client=ClientFactory(agency=agency_b), assigned_worker=carol, team=None)

    org1 = OrganizationFactory(name="Shelter Network")
    org2 = OrganizationFactory(name="Lane County Behavioral Health")
    shelter = ServiceFactory(organization=org1, name="Emergency shelter")
    housing = ServiceFactory(organization=org1, name="Housing navigation")
    counselling = ServiceFactory(organization=org2, name="Walk-in counselling")

    # fmt: off
    r = SimpleNamespace()
    r.r1 = ReferralFactory(
        case=case_a1, created_by=alice, service=shelter, need_category="housing",
        sent_at=utc(1, 5, 17), accepted_at=utc(1, 6, 17), service_date=datetime.date(2026, 1, 8),
        closed_at=utc(1, 8, 17), status=Status.COMPLETED, outcome=Outcome.GOT_HELP,
    )
    r.r2 = ReferralFactory(
        case=case_a2, created_by=bob, service=housing, need_category="housing",
        sent_at=utc(1, 6, 17), closed_at=utc(1, 7, 5),
        status=Status.REJECTED, outcome=Outcome.NO_CAPACITY,
    )
    r.r3 = ReferralFactory(
        case=case_a1, created_by=alice, service=counselling, need_category="mental_health",
        sent_at=utc(1, 10, 20), accepted_at=utc(1, 12, 20), status=Status.IN_PROGRESS,
    )
    r.r4 = ReferralFactory(
        case=case_e, created_by=erin, service=counselling, need_category="mental_health",
        sent_at=utc(1, 15, 18), accepted_at=utc(1, 19, 6), service_date=datetime.date(2026, 1, 22),
        closed_at=utc(1, 22, 18), status=Status.COMPLETED, outcome=Outcome.GOT_HELP,
    )
    r.r5 = ReferralFactory(
        case=case_e, created_by=erin, service=None, provider_name="=HYPERLINK(\"x\")",
        need_category="food", sent_at=utc(1, 20, 18), status=Status.REQUESTED,
    )
    r.r6 = ReferralFactory(
        case=case_a2, created_by=bob, service=None, provider_name="St. Vincent pantry",
        need_category="food", sent_at=utc(1, 21, 18), accepted_at=utc(1, 21, 22),
        closed_at=utc(1, 28, 18), status=Status.FAILED, outcome=Outcome.DID_NOT_ATTEND,
    )
    # Sent 2026-02-01 05:00Z = 2026-01-31 21:00 in Los Angeles: January for the agency.
    r.r7 = ReferralFactory(
        case=case_a1, created_by=alice, service=shelter, need_category="housing",
        sent_at=utc(2, 1, 5), closed_at=utc(2, 2, 5),
        status=Status.CANCELLED, outcome=Outcome.DECLINED,
    )
    # Never counted: a draft, a record entered in error, a draft called off before
    # sending, and another agency's referral.
    r.draft = ReferralFactory(case=case_a1, created_by=alice, status=Status.DRAFT)
    r.error = ReferralFactory(
        case=case_a1, created_by=alice, sent_at=utc(1, 9, 17), status=Status.ENTERED_IN_ERROR
    )
    r.never_sent = ReferralFactory(case=case_a2, created_by=bob, status=Status.CANCELLED)
    r.other_agency = ReferralFactory(
        case=case_b, created_by=carol, sent_at=utc(1, 9, 17), status=Status.COMPLETED,
        service_date=datetime.date(2026, 1, 10), closed_at=utc(1, 10, 17),
        outcome=Outcome.GOT_HELP,
    )
    # fmt: on
    return SimpleNamespace(
        r=r,
        jose=jose,
        org1=org1,
        org2=org2,
        shelter=shelter,
        housing=housing,
        counselling=counselling,
        case_b=case_b,
        agency_a_ids={r.r1.pk, r.r2.pk, r.r3.pk, r.r4.pk, r.r5.pk, r.r6.pk, r.r7.pk},
    )
