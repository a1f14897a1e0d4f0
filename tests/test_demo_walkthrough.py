"""Every demo login walks every page and endpoint of its role over the demo data, as a
new user would after `make run`: nothing may answer 5xx, and the pages of one's own role
open. `make test` runs this file on PostgreSQL and again on SQLite, the embedded default,
each time now and at the boundary instants of tests/clock.py.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from cases.models import Case
from directory.models import Service
from followups.models import FollowUp, Protocol
from referrals.models import Consent, ProviderLink, Referral
from tests import clock
from tests.class_data import class_transaction, on_clock, suite_instant

pytestmark = pytest.mark.slow

EVERYONE = ["/", "/directory/", "/directory/?need=housing&near=97401"]
WORKER = [
    "/cases/",
    "/cases/contacts/new/",
    "/cases/clients/",
    "/referrals/",
    "/referrals/?show=attention",
    "/directory/?q=counselling&open_now=on&language=es&age=30",
    "/api/v1/referrals/",
    "/api/v1/consents/",
    "/api/v1/directory/search/?need=substance_use&lat=44.05&lng=-123.09",
]
FOLLOWUP_WORKER = ["/followups/today/", "/inbox/"]
WORKER = [*WORKER, *FOLLOWUP_WORKER]
COMPLIANCE = [
    "/metrics/compliance/",
    "/metrics/compliance/?days=7",
    "/metrics/compliance/?days=90",
    "/metrics/compliance/?start=2020-01-01&end=1999-01-01",  # a form error, not a 500
    "/metrics/drilldown/followups-due/",
    "/metrics/drilldown/followups-missed/?days=90",
    "/metrics/drilldown/fum-denominator/",
    "/metrics/drilldown/fum-7-pending/",
    "/metrics/drilldown/contacts-all/",
    "/metrics/drilldown/drop-off/",
    "/metrics/drilldown/no-contact-14/",
    "/inbox/deliveries/",
    "/inbox/deliveries/?status=failed",
    "/followups/protocols/",
]
SUPERVISOR = [
    *WORKER,
    "/supervision/",
    "/supervision/cases/",
    "/reports/referrals/",
    *COMPLIANCE,
]
READERS = [
    "/supervision/cases/",
    "/reports/referrals/",
    "/reports/referrals/?need_category=housing&status=completed",
    "/reports/exports/",
    "/api/v1/reports/referrals/",
]
AGENCY_ADMIN = [*READERS, "/audit/", "/directory/manage/", "/admin/", "/inbox/", *COMPLIANCE]
SYSTEM_ADMIN = ["/admin/", "/directory/manage/"]

PAGES = {
    "alice": WORKER,
    "bob": WORKER,
    "erin": WORKER,
    "carol": WORKER,
    "sam": SUPERVISOR,
    "sofia": SUPERVISOR,
    "dave": SUPERVISOR,
    "dana": AGENCY_ADMIN,
    "admin": SYSTEM_ADMIN,
}


# The follow-up pages a login must be refused (403, audited), and the system admin sees no
# client page at all.
CLIENT_PAGES = [
    "/followups/today/",
    "/inbox/",
    "/inbox/deliveries/",
    "/metrics/compliance/",
    "/metrics/drilldown/followups-due/",
    "/followups/protocols/",
]
REFUSED = {
    "alice": ["/metrics/compliance/", "/metrics/drilldown/followups-due/", "/inbox/deliveries/"],
    "carol": ["/metrics/compliance/", "/inbox/deliveries/", "/followups/protocols/"],
    "dana": ["/followups/today/"],
    "admin": CLIENT_PAGES,
}


@pytest.fixture(scope="class", params=["now", *clock.BOUNDARY_INSTANTS])
def demo_seed(request, django_db_setup, django_db_blocker):
    """The demo data seeded now, and again with the clock at each instant where the
    agencies' day and UTC's differ or a clock changes (tests/clock.py): once for all the
    walkthrough's tests at that instant (tests/class_data.py)."""
    if request.param == "now":
        instant = suite_instant(request.config)
    else:
        instant = clock.BOUNDARY_INSTANTS[request.param]
    with class_transaction(django_db_blocker, instant) as moved:
        call_command("seed_demo", stdout=StringIO())
        yield moved


@pytest.fixture
def demo(demo_seed, db):
    """The walkthrough runs at the seed's instant, the clock ticking on."""
    with on_clock(demo_seed):
        yield


def visit(client, url):
    response = client.get(url)
    assert response.status_code < 500, (url, response.status_code)
    return response


@pytest.mark.usefixtures("demo")
class TestDemoWalkthrough:
    def test_every_login_opens_the_pages_of_its_role(self):
        for username, pages in PAGES.items():
            user = User.objects.get(username=username)
            client = Client()
            client.force_login(user)
            for url in [*EVERYONE, *pages]:
                response = visit(client, url)
                assert response.status_code in (200, 302), (username, url)

    def test_every_login_is_refused_the_pages_of_other_roles(self):
        for username, pages in REFUSED.items():
            client = Client()
            client.force_login(User.objects.get(username=username))
            for url in pages:
                assert visit(client, url).status_code == 403, (username, url)

    def test_every_worker_has_a_today_list_of_their_own_follow_ups(self):
        for username in ("alice", "bob", "erin", "carol"):
            user = User.objects.get(username=username)
            client = Client()
            client.force_login(user)
            page = visit(client, "/followups/today/")
            assert page.status_code == 200
            mine = FollowUp.objects.filter(assigned_to=user)
            assert mine.exists(), username
            for followup in mine[:6]:
                assert visit(client, f"/followups/{followup.pk}/").status_code == 200
            others = FollowUp.objects.exclude(case__agency=user.agency_id)
            for followup in others[:3]:
                assert visit(client, f"/followups/{followup.pk}/").status_code == 404

    def test_the_supervisors_and_agency_admins_see_real_numbers(self):
        for username in ("sam", "sofia", "dana"):
            client = Client()
            client.force_login(User.objects.get(username=username))
            page = visit(client, "/metrics/compliance/")
            assert page.status_code == 200
            assert page.context["report"].totals.due > 0, username
            assert page.context["trend_svg"]
            for protocol in Protocol.objects.filter(agency__users__username=username)[:6]:
                assert visit(client, f"/followups/protocols/{protocol.pk}/").status_code == 200
        dana = Client()
        dana.force_login(User.objects.get(username="dana"))
        for protocol in Protocol.objects.filter(agency__users__username="dana")[:3]:
            assert visit(dana, f"/followups/protocols/{protocol.pk}/edit/").status_code == 200
        sam = Client()
        sam.force_login(User.objects.get(username="sam"))
        protocol = Protocol.objects.filter(agency__users__username="sam").first()
        assert visit(sam, f"/followups/protocols/{protocol.pk}/edit/").status_code == 403

    def test_every_record_a_login_can_see_opens(self):
        for username in PAGES:
            user = User.objects.get(username=username)
            client = Client()
            client.force_login(user)
            for case in Case.objects.visible_to(user)[:8]:
                assert visit(client, f"/cases/{case.pk}/").status_code == 200
            for referral in Referral.objects.visible_to(user):
                assert visit(client, f"/referrals/{referral.pk}/").status_code == 200
                assert visit(client, f"/api/v1/referrals/{referral.pk}/").status_code == 200
            for case in Case.objects.writable_by(user).open()[:8]:
                assert visit(client, f"/referrals/new/?case={case.pk}").status_code == 200
            for consent in Consent.objects.filter(client__agency=user.agency_id):
                visit(client, f"/referrals/consents/{consent.pk}/")
            for service in Service.objects.visible_to(user)[:6]:
                assert visit(client, f"/directory/services/{service.pk}/").status_code == 200

    def test_every_provider_link_opens_or_says_it_is_gone(self):
        anonymous = Client()
        for link in ProviderLink.objects.select_related("referral"):
            response = visit(anonymous, f"/p/{link.token()}/")
            assert response.status_code in (200, 404)
