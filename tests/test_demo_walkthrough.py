"""Every demo login walks every page and endpoint of its role over the demo data, as a
new user would after `make run`: nothing may answer 5xx, and the pages of one's own role
open. `make test` runs this file on PostgreSQL and again on SQLite, the embedded default.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from cases.models import Case
from directory.models import Service
from referrals.models import Consent, ProviderLink, Referral

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
SUPERVISOR = [*WORKER, "/supervision/", "/supervision/cases/", "/reports/referrals/"]
READERS = [
    "/supervision/cases/",
    "/reports/referrals/",
    "/reports/referrals/?need_category=housing&status=completed",
    "/reports/exports/",
    "/api/v1/reports/referrals/",
]
AGENCY_ADMIN = [*READERS, "/audit/", "/directory/manage/", "/admin/"]
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


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO())


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
