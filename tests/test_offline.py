"""The installable app's server side (casebook/offline.py, core/offline.py): the service
worker and the manifest, the pages a phone may keep (only its owner's), the answers the
phone's outbox reads, and what the outbox is told about records it sent."""

import json
import uuid

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from PIL import Image

from casebook.offline import SHELL_STATIC, WORKER_STATIC
from cases import services as case_services
from cases.models import Contact
from core.offline import OFFLINE_HEADER
from followups import services as followup_services
from tests.followups.factories import due_followup

SW_URL = reverse("service_worker")
MANIFEST_URL = reverse("manifest")
OUTBOX = {"HTTP_X_CASEBOOK_OUTBOX": "1"}


class TestServiceWorker:
    def test_it_is_served_at_the_root_as_javascript_and_never_stored(self, client, db):
        response = client.get(SW_URL)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/javascript")
        assert response["Service-Worker-Allowed"] == "/"
        assert "no-store" in response["Cache-Control"]
        assert "Content-Security-Policy" in response

    def test_it_loads_workbox_idb_and_the_outbox_from_our_static_files(self, client, db):
        body = response_text(client.get(SW_URL))
        assert (
            'importScripts("/static/vendor/workbox/workbox-sw.js", "/static/vendor/idb/umd.js"'
            in body
        )
        assert "https://" not in body  # no CDN: workbox-sw's default would be one
        for path in {*SHELL_STATIC, *WORKER_STATIC}:
            assert finders.find(path), f"{path} is not among the static files (npm ci?)"

    def test_its_configuration_names_the_outbox_forms_and_the_shell(self, client, db):
        config = worker_config(client)
        assert config["modulePathPrefix"] == "/static/vendor/workbox/"
        assert config["offlinePage"] == reverse("offline_outbox")
        assert reverse("javascript-catalog") in config["shell"]
        assert set(config["kinds"]) == {"contact", "attempt", "note"}
        assert all(entry["revision"] != "missing" for entry in config["precache"])


class TestManifest:
    def test_it_makes_an_installable_app(self, client, db):
        response = client.get(MANIFEST_URL)
        assert response["Content-Type"] == "application/manifest+json"
        data = json.loads(response.content)
        assert data["name"] == "casebook"
        assert data["start_url"] == reverse("followups:today")
        assert data["display"] == "standalone"
        assert data["scope"] == "/"
        sizes = {icon["sizes"] for icon in data["icons"]}
        assert sizes == {"192x192", "512x512"}
        for icon in data["icons"]:
            path = finders.find(icon["src"].removeprefix("/static/"))
            width, height = Image.open(path).size
            assert f"{width}x{height}" == icon["sizes"]

    def test_every_page_links_it_and_loads_the_offline_scripts(self, login, alice):
        html = login(alice).get(reverse("followups:today")).content.decode()
        assert f'<link rel="manifest" href="{MANIFEST_URL}">' in html
        assert f'data-user="{alice.pk}"' in html
        assert "js/offline/page.js" in html


class TestContentSecurityPolicy:
    def test_the_worker_and_the_manifest_come_from_the_site(self, client, db):
        policy = client.get(reverse("login"))["Content-Security-Policy"]
        assert "worker-src 'self'" in policy
        assert "manifest-src 'self'" in policy


class TestKeptPages:
    """Only the worker's own pages are marked for the phone to keep, for that worker."""

    def test_today_the_caseload_and_the_contact_form_are_kept_for_their_owner(self, login, alice):
        client = login(alice)
        for name in ("followups:today", "casework:caseload", "casework:contact_new"):
            assert client.get(reverse(name))[OFFLINE_HEADER] == str(alice.pk), name

    def test_the_workers_own_open_case_is_kept(self, login, alice, alice_case):
        response = login(alice).get(reverse("casework:case_detail", args=[alice_case.pk]))
        assert response[OFFLINE_HEADER] == str(alice.pk)

    def test_a_teammates_case_and_a_closed_case_are_not(self, login, alice, alice_case, bob_case):
        client = login(alice)
        response = client.get(reverse("casework:case_detail", args=[bob_case.pk]))
        assert response.status_code == 200
        assert OFFLINE_HEADER not in response
        case_services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = client.get(reverse("casework:case_detail", args=[alice_case.pk]))
        assert OFFLINE_HEADER not in response

    def test_other_pages_and_variants_are_not(self, login, alice, alice_case):
        client = login(alice)
        for url in (
            reverse("directory:search"),
            reverse("cases:client_search"),
            reverse("casework:caseload") + "?show=mine",
            reverse("casework:contact_new") + f"?client={alice_case.client_id}",
            reverse("offline_outbox"),
        ):
            assert OFFLINE_HEADER not in client.get(url), url

    def test_nothing_is_kept_for_a_visitor(self, client, db):
        assert OFFLINE_HEADER not in client.get(reverse("login"))


class TestOutboxPage:
    def test_it_holds_nothing_of_the_user_who_asked(self, login, alice):
        html = login(alice).get(reverse("offline_outbox")).content.decode()
        assert alice.username not in html
        assert str(alice) not in html
        assert "csrfmiddlewaretoken" not in html
        assert "data-user" not in html


class TestSession:
    def test_it_names_the_signed_in_user_with_a_csrf_token(self, login, alice):
        data = login(alice).get(reverse("offline_session")).json()
        assert data["user"] == alice.pk
        assert data["csrf"]

    def test_a_visitor_is_nobody(self, client, db):
        assert client.get(reverse("offline_session")).json()["user"] is None


class TestRecorded:
    def test_it_tells_which_of_the_users_own_ids_are_recorded(
        self, login, alice, bob, alice_case, record_contact_for
    ):
        own, others, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        fu = due_followup(alice_case)
        followup_services.log_attempt(
            actor=alice, followup=fu, outcome="no_answer", submission_id=own
        )
        contact = record_contact_for(bob)
        Contact.objects.filter(pk=contact.pk).update(submission_id=others)
        url = reverse("offline_recorded") + f"?id={own}&id={others}&id={unknown}&id=garbage"
        assert login(alice).get(url).json() == {"user": alice.pk, "recorded": [str(own)]}


class TestOutboxAnswers:
    """What the phone's outbox reads from an answer (core.offline.OutboxMiddleware)."""

    def test_a_saved_record_answers_204_with_where_it_is(self, login, alice, alice_case):
        response = login(alice).post(
            reverse("casework:case_note", args=[alice_case.pk]),
            {"text": "Called back, all well.", "submission_id": str(uuid.uuid4())},
            **OUTBOX,
        )
        assert response.status_code == 204
        assert response["X-Casebook-Location"] == reverse(
            "casework:case_detail", args=[alice_case.pk]
        )
        assert "X-Casebook-Problem" not in response

    def test_without_a_session_it_says_signed_out(self, client, alice_case):
        response = client.post(
            reverse("casework:case_note", args=[alice_case.pk]), {"text": "x"}, **OUTBOX
        )
        assert response.status_code == 204
        assert response["X-Casebook-Problem"] == "signed_out"

    def test_a_refused_csrf_token_says_signed_out(self, alice, alice_case):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(alice)
        response = client.post(
            reverse("casework:case_note", args=[alice_case.pk]), {"text": "x"}, **OUTBOX
        )
        assert response.status_code == 403
        assert response["X-Casebook-Problem"] == "signed_out"

    def test_a_form_with_errors_says_invalid_and_a_likely_duplicate_says_so(
        self, login, alice, bob_case
    ):
        client = login(alice)
        response = client.post(
            reverse("casework:case_note", args=[bob_case.pk]), {"text": ""}, **OUTBOX
        )
        assert response.status_code == 200
        assert response["X-Casebook-Problem"] == "invalid"
        duplicate = client.post(
            reverse("casework:contact_new"),
            {"legal_name": "Bob Client", "date_of_birth": "1990-04-12", "source": "988"},
            **OUTBOX,
        )
        assert duplicate.status_code == 200
        assert duplicate["X-Casebook-Problem"] == "duplicate"

    def test_a_case_out_of_reach_says_gone_and_a_closed_one_conflict(
        self, login, alice, alice_case, erin_case
    ):
        client = login(alice)
        response = client.post(
            reverse("casework:case_note", args=[erin_case.pk]), {"text": "x"}, **OUTBOX
        )
        assert (response.status_code, response["X-Casebook-Problem"]) == (404, "gone")
        case_services.close_case(actor=alice, case=alice_case, reason="stabilised")
        response = client.post(
            reverse("casework:case_note", args=[alice_case.pk]), {"text": "x"}, **OUTBOX
        )
        assert (response.status_code, response["X-Casebook-Problem"]) == (409, "conflict")

    def test_an_ordinary_post_is_left_alone(self, login, alice, alice_case):
        response = login(alice).post(
            reverse("casework:case_note", args=[alice_case.pk]), {"text": "Left alone."}
        )
        assert response.status_code == 302


def response_text(response):
    return response.content.decode()


def worker_config(client):
    body = response_text(client.get(SW_URL))
    line = next(line for line in body.splitlines() if line.startswith("self.CASEBOOK_OFFLINE"))
    return json.loads(line.split("=", 1)[1].strip().rstrip(";"))


pytestmark = pytest.mark.django_db
