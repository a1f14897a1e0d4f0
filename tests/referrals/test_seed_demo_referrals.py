from io import StringIO

import pytest
from django.core.management import call_command

from directory.models import Organization, Service
from referrals.models import Consent, Disclosure, Referral, Status
from tests.class_data import on_clock


@pytest.fixture
def seeded(demo_seeded_for_class, db, monkeypatch):
    """The demo data, seeded once for the class (tests/class_data.py)."""
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    with on_clock(demo_seeded_for_class):
        yield


@pytest.mark.usefixtures("seeded")
class TestSeedDemoReferrals:
    def test_the_shared_directory_holds_the_hsds_example(self):
        example = Organization.objects.get(name="Example Organization Inc.")
        assert example.agency is None
        assert example.services.filter(name="Community Counselling").exists()

    def test_each_demo_agency_has_its_own_services(self):
        for slug in ("lane-county-crisis", "denver-star"):
            assert Service.objects.filter(agency__slug=slug).count() >= 2

    def test_agency_a_has_referrals_in_every_status(self):
        statuses = set(
            Referral.objects.filter(agency__slug="lane-county-crisis").values_list(
                "status", flat=True
            )
        )
        assert statuses == set(Status.values)

    def test_referrals_went_through_the_consent_gate(self):
        sent = Referral.objects.exclude(status=Status.DRAFT)
        assert not sent.filter(consent__isnull=True).exists()
        assert Disclosure.objects.filter(referral__in=sent).count() == sent.count()
        assert Consent.objects.filter(is_part2=True).exists()
        assert Consent.objects.filter(revoked_at__isnull=False).exists()

    def test_a_second_run_changes_nothing(self):
        before = (Referral.objects.count(), Service.objects.count(), Consent.objects.count())
        call_command("seed_demo", stdout=StringIO())
        after = (Referral.objects.count(), Service.objects.count(), Consent.objects.count())
        assert after == before
