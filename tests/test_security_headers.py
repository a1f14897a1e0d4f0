"""The headers every answer carries, checked on every URL pattern of the site: the
Content-Security-Policy, `Cache-Control: no-store`, and the __Host- cookies of production.

The walk builds one address per pattern from the resolver itself, so a page added later is
checked without being listed here."""

import datetime
import json
import re
import uuid

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from reports.models import ExportJob
from tests.attachments.factories import attach
from tests.directory.factories import ServiceAtLocationFactory
from tests.followups.factories import due_followup, ed_visit
from tests.referrals.factories import sent_referral
from tests.test_settings import manage, prod_env

# What production names its cookies (casebook/settings/prod.py); the integration test
# below reads them from prod.py itself.
PROD_COOKIES = {
    "SESSION_COOKIE_NAME": "__Host-sessionid",
    "CSRF_COOKIE_NAME": "__Host-csrftoken",
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "CSRF_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_PATH": "/",
    "CSRF_COOKIE_PATH": "/",
    "SESSION_COOKIE_DOMAIN": None,
    "CSRF_COOKIE_DOMAIN": None,
}
PASSWORD = "pw-for-tests"  # noqa: S105  # nosec B105 - the test personas' password

# --- Walking the resolver -----------------------------------------------------------------

# A parameter in a route: `<int:pk>` (path()) or `(?P<pk>[^/.]+)` (re_path(), DRF's routers).
PARAMETER = re.compile(
    r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>"
    r"|\(\?P<(?P<group>\w+)>(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)


def patterns(resolvers=None, prefix=""):
    """(route, pattern) for every URL pattern, `route` the joined route or regex text."""
    for entry in get_resolver().url_patterns if resolvers is None else resolvers:
        if isinstance(entry, URLResolver):
            yield from patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern), entry


def _owner(route, start):
    """The path segment naming what the parameter at `start` is an id of."""
    segments = [s for s in re.split(r"[/^]", route[:start]) if s and not s.startswith("(")]
    return segments[-1] if segments else ""


def path_for(route, ids):
    """A concrete address for `route`: each parameter takes the id of the record the path
    names it after (`cases/<pk>` a case, `contacts/<pk>` a contact), else a value of the
    right shape that matches nothing."""

    def value(match):
        name = match["name"] or match["group"]
        body = match["body"] or ""
        if body and re.fullmatch(r"[\w-]+(\|[\w-]+)+", body):
            return body.split("|")[0]  # the admin's app labels: the first one listed
        for key in (name, f"{_owner(route, match.start())}/{name}"):
            if key in ids:
                return str(ids[key])
        if match["converter"] == "uuid":
            return str(uuid.UUID(int=0))
        return "1" if match["converter"] in ("int", None) and name != "what" else "x"

    concrete = PARAMETER.sub(value, route)
    # Regex routes (DRF's routers, the admin): anchors and escapes out.
    concrete = concrete.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + concrete.replace("?", "")


@pytest.fixture
def world(alice, alice_case, bob_case):
    """One of every record a page shows, alice's where a record has an owner."""
    referral = sent_referral(alice, alice_case)
    followup = due_followup(alice_case)
    visit = ed_visit(alice_case, arrived_at=timezone.now() - datetime.timedelta(hours=6))
    service = ServiceAtLocationFactory(agency=alice.agency)
    export = ExportJob.objects.create(
        agency_id=alice.agency_id, requested_by=alice, format="csv", rows_total=10, rows_done=4
    )
    enrolment = alice_case.enrolments.order_by("pk").first()
    attachment = attach(alice, case=alice_case)
    return {
        "cases/pk": alice_case.pk,
        "case_pk": alice_case.pk,
        "contacts/pk": alice_case.contacts.first().pk,
        "clients/pk": alice_case.client_id,
        "other": bob_case.client_id,
        "referrals/pk": referral.pk,
        "consents/pk": referral.consent_id,
        "followups/pk": followup.pk,
        "visits/pk": visit.pk,
        "hospital-visits/pk": visit.pk,
        "enrolments/pk": enrolment.pk,
        "protocols/pk": enrolment.version.protocol_id,
        "services/pk": service.service_id,
        "organizations/pk": service.service.organization_id,
        "locations/pk": service.location_id,
        "exports/pk": export.pk,
        "what": "followups-due",
        # attachments/<record>/<pk>/, attachments/<pk>/file/ and the API's.
        "case/pk": alice_case.pk,
        "client/pk": alice_case.client_id,
        "contact/pk": alice_case.contacts.first().pk,
        "consent/pk": referral.consent_id,
        "attachments/pk": attachment.pk,
    }


def csp_directives(response):
    header = response.get("Content-Security-Policy", "")
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def header_problems(response, path):
    """What is wrong with one answer's headers, as readable lines (none: all is well)."""
    problems = []
    if "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"{path}: Cache-Control is {response.get('Cache-Control')!r}")
    if not response.get("Content-Type", "").startswith("text/html"):
        return problems
    policy = csp_directives(response)
    scripts = policy.get("script-src", [])
    expected = {
        "nonce in script-src": any(v.startswith("'nonce-") for v in scripts),
        "no 'unsafe-inline' in script-src": "'unsafe-inline'" not in scripts,
        "no 'unsafe-eval' in script-src": "'unsafe-eval'" not in scripts,
        "no 'unsafe-inline' in style-src": "'unsafe-inline'" not in policy.get("style-src", []),
        "frame-ancestors 'none'": policy.get("frame-ancestors") == ["'none'"],
        "object-src 'none'": policy.get("object-src") == ["'none'"],
        "base-uri 'none'": policy.get("base-uri") == ["'none'"],
        "default-src 'self'": policy.get("default-src") == ["'self'"],
        "X-Frame-Options DENY": response.get("X-Frame-Options") == "DENY",
    }
    problems += [f"{path}: no {what}" for what, ok in expected.items() if not ok]
    return problems


def body_problems(response, path):
    """Style attributes, inline handlers, and inline scripts or styles without this
    answer's nonce: the policy refuses them, so whatever they did silently stops working."""
    if not response.get("Content-Type", "").startswith("text/html"):
        return []
    problems = []
    body = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response.get("Content-Security-Policy", ""))
    if re.search(r"<[a-z][^>]*\sstyle=", body):
        problems.append(f"{path}: a style attribute")
    if re.search(r"<[a-z][^>]*\son[a-z]+=", body):
        problems.append(f"{path}: an inline event handler")
    for tag in re.finditer(r"<(script|style)\b([^>]*)>", body):
        inline = tag[1] == "style" or "src=" not in tag[2]
        data = 'type="application/json"' in tag[2]
        if inline and not data and f'nonce="{nonce and nonce[1]}"' not in tag[2]:
            problems.append(f"{path}: <{tag[1]}{tag[2]}> without the nonce")
    return problems


def walk(client, ids):
    """GET every pattern's address; (path, response) for each."""
    return [(path, client.get(path)) for path in (path_for(r, ids) for r, _ in patterns())]


# Pages each visitor must reach for real (200) in the walk, so that the checks ran on the
# records themselves and not only on 404s and redirects.
REACHED = {
    "alice": lambda ids: [
        reverse("casework:caseload"),
        reverse("casework:contact_new"),
        reverse("casework:case_detail", args=[ids["cases/pk"]]),
        reverse("cases:contact_detail", args=[ids["contacts/pk"]]),
        reverse("cases:client_detail", args=[ids["clients/pk"]]),
        reverse("referrals:detail", args=[ids["referrals/pk"]]),
        reverse("referrals:consent_detail", args=[ids["consents/pk"]]),
        reverse("followups:today"),
        reverse("followups:detail", args=[ids["followups/pk"]]),
        reverse("directory:service_detail", args=[ids["services/pk"]]),
        reverse("attachments:case", args=[ids["case/pk"]]),
        reverse("attachments:file", args=[ids["attachments/pk"]]),
        f"/api/v1/cases/{ids['cases/pk']}/",
        reverse("api-docs"),
    ],
    "sam": lambda ids: [
        reverse("supervision:team"),
        reverse("metrics:compliance"),
        reverse("reports:referral_report"),
        reverse("reports:exports"),
    ],
    "dana": lambda ids: [reverse("audit:trail"), reverse("directory:manage")],
    "root": lambda ids: [reverse("admin:index"), reverse("admin:accounts_user_changelist")],
    None: lambda ids: [reverse("login"), reverse("healthz")],
}


class TestEveryPage:
    @pytest.mark.parametrize(
        "persona",
        [
            "alice",
            None,
            pytest.param("sam", marks=pytest.mark.slow),
            pytest.param("dana", marks=pytest.mark.slow),
            pytest.param("root", marks=pytest.mark.slow),
        ],
    )
    def test_every_answer_has_the_policy_no_store_and_nothing_the_policy_refuses(
        self, client, world, persona, request
    ):
        """A signed-in worker, a supervisor, an agency admin, the system admin and an
        anonymous visitor each ask for every URL pattern."""
        if persona:
            client.force_login(request.getfixturevalue(persona))

        answers = walk(client, world)

        assert len(answers) == len(list(patterns()))
        problems = [
            problem
            for path, response in answers
            for problem in header_problems(response, path) + body_problems(response, path)
        ]
        assert problems == []
        shown = {path for path, response in answers if response.status_code == 200}
        assert set(REACHED[persona](world)) - shown == set()

    def test_each_answer_has_a_nonce_of_its_own_used_by_the_page(self, client, sam, world):
        client.force_login(sam)
        url = reverse("reports:referral_report")

        first, second = client.get(url), client.get(url)

        nonces = [
            next(v for v in csp_directives(r)["script-src"] if v.startswith("'nonce-"))
            for r in (first, second)
        ]
        assert nonces[0] != nonces[1]
        # The report's bar widths are an inline style under that nonce.
        assert f'<style nonce="{nonces[0][7:-1]}">' in first.content.decode()


class TestStaticFilesAndHealth:
    def test_static_files_keep_their_caching(self, client):
        assert finders.find("css/casebook.css")
        response = client.get(static("css/casebook.css"))

        assert response.status_code == 200
        assert "no-store" not in response.get("Cache-Control", "")

    def test_healthz_keeps_its_own_never_cache(self, client, db):
        response = client.get(reverse("healthz"))

        assert (
            response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
        )

    def test_the_api_answers_no_store_to_a_token_too(self, api, alice, world):
        api.force_authenticate(alice)

        response = api.get(f"/api/v1/cases/{world['cases/pk']}/")

        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


class TestCookies:
    @override_settings(**PROD_COOKIES)
    def test_the_cookies_set_at_login_are_host_only_and_secure_in_production(self, alice):
        alice.set_password(PASSWORD)
        alice.save()
        browser = Client(enforce_csrf_checks=True)

        page = browser.get(reverse("login"))
        token = browser.cookies["__Host-csrftoken"].value
        response = browser.post(
            reverse("login"),
            {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )

        assert response.status_code == 302, page.content.decode()[:200]
        for name in ("__Host-sessionid", "__Host-csrftoken"):
            cookie = response.cookies[name]
            assert cookie["secure"] is True, name
            assert cookie["path"] == "/", name
            assert cookie["domain"] == "", name
        assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
        assert response.cookies["__Host-csrftoken"]["httponly"] is True

    def test_development_and_tests_keep_the_plain_names(self):
        # http://localhost cannot set a __Host- cookie.
        assert settings.SESSION_COOKIE_NAME == "sessionid"
        assert settings.CSRF_COOKIE_NAME == "csrftoken"

    @pytest.mark.integration
    def test_production_settings_name_them_so(self):
        names = ", ".join(PROD_COOKIES)
        result = manage(
            "shell",
            "-c",
            f"import json; from django.conf import settings as s; "
            f"print(json.dumps({{n: getattr(s, n) for n in '{names}'.split(', ')}}))",
            **prod_env(),
        )

        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1]) == PROD_COOKIES
