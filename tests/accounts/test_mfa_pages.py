"""The second factor's pages: enrolment at first sign-in, the code at every sign-in,
recovery codes, the admin's reset, and what an unverified session may reach."""

import datetime
import re

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa, signin
from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent

PASSWORD = "pw-for-tests"  # noqa: S105 - tests/accounts/factories.py


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The sign-in limits count failures per username in the shared cache.
    cache.clear()


def enrol(user):
    device = mfa.pending_authenticator(user)
    codes = mfa.confirm_enrolment(user=user, code=mfa.current_code(device))
    return TOTPDevice.objects.get(user=user), codes


def later(seconds=31):
    return time_machine.travel(timezone.now() + datetime.timedelta(seconds=seconds), tick=True)


def sign_in(client, user, next_url="/cases/"):
    """The password step, as the login page takes it; returns where it leads."""
    response = client.post(
        f"/accounts/login/?next={next_url}", {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302, response.content
    return client.get(response.url)


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED = True


class TestEnrolmentAtFirstSignIn:
    def test_a_user_without_an_authenticator_is_sent_to_enrol(self, client, alice, required):
        response = sign_in(client, alice)
        assert response.status_code == 302
        assert response.url == "/accounts/mfa/enrol/?next=%2Fcases%2F"

    def test_the_page_shows_a_qr_code_and_the_secret(self, client, alice, required):
        sign_in(client, alice)
        page = client.get("/accounts/mfa/enrol/?next=/cases/")
        html = page.content.decode()
        assert page.status_code == 200
        assert "<svg" in html
        secret = mfa.secret_text(TOTPDevice.objects.get(user=alice, confirmed=False))
        assert secret in html

    def test_a_wrong_code_is_refused_on_the_form(self, client, alice, required):
        sign_in(client, alice)
        client.get("/accounts/mfa/enrol/")
        device = TOTPDevice.objects.get(user=alice)
        response = client.post(
            "/accounts/mfa/enrol/", {"code": wrong(mfa.current_code(device)), "next": "/cases/"}
        )
        assert response.status_code == 200
        assert "does not match" in response.content.decode()
        assert not mfa.has_authenticator(alice)
        assert client.get("/cases/").status_code == 302

    def test_an_empty_code_is_a_form_error_not_a_crash(self, client, alice, required):
        sign_in(client, alice)
        response = client.post("/accounts/mfa/enrol/", {"code": ""})
        assert response.status_code == 200
        assert response.context["form"].errors["code"]

    def test_the_right_code_shows_ten_recovery_codes_once_and_opens_casebook(
        self, client, alice, required
    ):
        sign_in(client, alice)
        client.get("/accounts/mfa/enrol/")
        device = TOTPDevice.objects.get(user=alice)
        response = client.post(
            "/accounts/mfa/enrol/", {"code": mfa.current_code(device), "next": "/cases/"}
        )
        assert response.status_code == 200
        codes = re.findall(
            r"<li>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</li>", response.content.decode()
        )
        assert len(set(codes)) == 10
        assert client.get("/cases/").status_code == 200
        # Shown once: the enrolment page now leads on, and shows no codes again.
        again = client.get("/accounts/mfa/enrol/", follow=True)
        assert codes[0] not in again.content.decode()
        assert AuditEvent.objects.filter(actor=alice, detail__mfa="enrolled").exists()


class TestCodeAtEverySignIn:
    def test_an_enrolled_user_is_asked_for_the_code(self, client, alice, required):
        enrol(alice)
        response = sign_in(client, alice)
        assert response.url == "/accounts/mfa/verify/?next=%2Fcases%2F"

    def test_the_right_code_opens_the_page_asked_for(self, client, alice, required):
        device, _ = enrol(alice)
        sign_in(client, alice)
        with later():
            response = client.post(
                "/accounts/mfa/verify/", {"code": mfa.current_code(device), "next": "/cases/"}
            )
            assert response.status_code == 302
            assert response.url == "/cases/"
            assert client.get("/cases/").status_code == 200
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.LOGIN, detail__mfa="verified"
        ).exists()

    def test_a_wrong_code_is_refused_counted_and_audited(self, client, alice, required):
        device, _ = enrol(alice)
        sign_in(client, alice)
        with later():
            response = client.post(
                "/accounts/mfa/verify/", {"code": wrong(mfa.current_code(device))}
            )
        assert response.status_code == 200
        assert "not right" in response.content.decode()
        assert client.get("/cases/").status_code == 302
        assert AuditEvent.objects.filter(
            object_id=str(alice.pk), action=Action.LOGIN_FAILED, detail__mfa="wrong code"
        ).exists()

    def test_wrong_codes_count_toward_the_sign_in_limits(self, client, alice, required):
        device, _ = enrol(alice)
        sign_in(client, alice)
        for minutes in range(1, 7):
            # Minutes apart: past the authenticator's own growing wait each time.
            with later(seconds=60 * minutes):
                client.post("/accounts/mfa/verify/", {"code": wrong(mfa.current_code(device))})
        request = RequestFactory().post("/accounts/login/")
        assert signin.check_allowed(request, "alice") is not None
        with later(seconds=6 * 60 + 10):  # within the wait the sixth failure caused
            response = client.post("/accounts/mfa/verify/", {"code": mfa.current_code(device)})
        assert response.status_code == 200
        assert "Too many failed sign-in attempts" in response.content.decode()

    def test_a_recovery_code_signs_in_once(self, client, alice, required):
        _, codes = enrol(alice)
        sign_in(client, alice)
        assert client.post("/accounts/mfa/verify/", {"code": codes[3]}).status_code == 302
        assert client.get("/cases/").status_code == 200
        client.post("/accounts/logout/")
        sign_in(client, alice)
        with later(seconds=5):
            response = client.post("/accounts/mfa/verify/", {"code": codes[3]})
        assert response.status_code == 200
        assert client.get("/cases/").status_code == 302

    def test_signing_out_and_in_again_asks_again(self, client, alice, required):
        device, _ = enrol(alice)
        sign_in(client, alice)
        with later():
            client.post("/accounts/mfa/verify/", {"code": mfa.current_code(device)})
        client.post("/accounts/logout/")
        assert sign_in(client, alice).url.startswith("/accounts/mfa/verify/")

    def test_signing_in_again_without_signing_out_asks_again(self, client, alice, required):
        device, _ = enrol(alice)
        sign_in(client, alice)
        with later():
            client.post("/accounts/mfa/verify/", {"code": mfa.current_code(device)})
            assert client.get("/cases/").status_code == 200
        assert sign_in(client, alice).url.startswith("/accounts/mfa/verify/")

    def test_the_next_address_must_be_this_site(self, client, alice, required):
        device, _ = enrol(alice)
        sign_in(client, alice)
        with later():
            response = client.post(
                "/accounts/mfa/verify/",
                {"code": mfa.current_code(device), "next": "https://evil.example/"},
            )
        assert response.url == "/cases/"


class TestWithoutTheSetting:
    def test_a_user_without_an_authenticator_signs_in_with_the_password_alone(self, client, alice):
        assert sign_in(client, alice).status_code == 200

    def test_a_user_with_an_authenticator_still_gives_the_code(self, client, alice):
        enrol(alice)
        assert sign_in(client, alice).url.startswith("/accounts/mfa/verify/")

    def test_a_user_may_enrol_of_their_own_accord(self, client, alice):
        sign_in(client, alice)
        assert client.get("/accounts/mfa/enrol/").status_code == 200


class TestWhatAnUnverifiedSessionReaches:
    def test_sign_out_health_and_static_files_answer(self, client, alice, required):
        sign_in(client, alice)
        assert client.get("/healthz").status_code == 200
        assert client.get("/static/css/casebook.css").status_code == 200
        assert client.post("/accounts/logout/").status_code == 302
        assert client.get("/cases/").url.startswith("/accounts/login/")

    def test_the_api_answers_403_to_the_session(self, client, alice, required):
        sign_in(client, alice)
        response = client.get("/api/v1/cases/")
        assert response.status_code == 403
        assert "second factor" in response.json()["detail"]

    def test_an_htmx_request_sends_the_whole_page_to_the_code(self, client, alice, required):
        enrol(alice)
        sign_in(client, alice)
        response = client.get("/cases/", headers={"HX-Request": "true"})
        assert response["HX-Redirect"].startswith("/accounts/mfa/verify/")

    def test_a_password_change_waits_for_the_code(self, client, alice, required):
        enrol(alice)
        sign_in(client, alice)
        assert client.get("/accounts/password/").status_code == 302


class TestEveryClientDataRoleVerifiesInProduction:
    """With MFA_REQUIRED (production), no role reaches any page before its second
    factor: not a worker, supervisor or agency admin, nor the system admin's Django
    admin."""

    PAGES = {
        "alice": ["/cases/", "/followups/today/", "/inbox/"],
        "sam": ["/cases/", "/supervision/cases/", "/metrics/compliance/"],
        "dana": ["/reports/referrals/", "/audit/", "/inbox/"],
        "root": ["/admin/", "/admin/accounts/user/", "/directory/manage/"],
    }

    @pytest.mark.parametrize("username", PAGES)
    def test_before_enrolment_every_page_leads_to_enrolment(self, request, username, required):
        user = request.getfixturevalue(username)
        client = Client()
        client.force_login(user)
        for url in self.PAGES[username]:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.url.startswith("/accounts/mfa/enrol/"), url

    @pytest.mark.parametrize("username", PAGES)
    def test_once_enrolled_every_page_leads_to_the_code_until_given(
        self, request, username, required
    ):
        user = request.getfixturevalue(username)
        device, _ = enrol(user)
        client = Client()
        client.force_login(user)
        for url in self.PAGES[username]:
            response = client.get(url)
            assert response.url.startswith("/accounts/mfa/verify/"), url
        with later():
            client.post("/accounts/mfa/verify/", {"code": mfa.current_code(device)})
            for url in self.PAGES[username]:
                assert client.get(url).status_code < 300, url


class TestAdminResetsASecondFactor:
    @pytest.fixture
    def dana_admin(self, client, dana):
        grant_agency_admin_permissions(user=dana)
        client.force_login(dana)
        return client

    def test_asks_why_before_resetting(self, dana_admin, alice):
        enrol(alice)
        response = dana_admin.post(
            "/admin/accounts/user/",
            {"action": "reset_second_factor", "_selected_action": [alice.pk]},
        )
        assert response.status_code == 200
        assert "Why" in response.content.decode()
        assert mfa.has_authenticator(alice)

    def test_resets_her_agencys_worker_audited_with_the_reason(self, dana_admin, dana, alice):
        enrol(alice)
        response = dana_admin.post(
            "/admin/accounts/user/",
            {
                "action": "reset_second_factor",
                "_selected_action": [alice.pk],
                "reason": "phone lost, checked in person",
            },
        )
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=alice).exists()
        event = AuditEvent.objects.get(detail__mfa="reset")
        assert (event.actor, event.object_id) == (dana, str(alice.pk))
        assert event.detail["reason"] == "phone lost, checked in person"

    def test_the_worker_enrols_again_at_next_sign_in(self, settings, dana_admin, alice):
        enrol(alice)
        dana_admin.post(
            "/admin/accounts/user/",
            {"action": "reset_second_factor", "_selected_action": [alice.pk], "reason": "x"},
        )
        settings.MFA_REQUIRED = True
        assert sign_in(Client(), alice).url.startswith("/accounts/mfa/enrol/")

    def test_a_verified_session_of_the_worker_stops_being_verified(self, dana, alice, required):
        device, _ = enrol(alice)
        worker = Client()
        sign_in(worker, alice)
        with later():
            worker.post("/accounts/mfa/verify/", {"code": mfa.current_code(device)})
            assert worker.get("/cases/").status_code == 200
        mfa.reset_devices(actor=dana, user=alice, reason="phone stolen")
        assert worker.get("/cases/").url.startswith("/accounts/mfa/enrol/")

    def test_not_another_agencys_user(self, dana_admin, carol):
        enrol(carol)
        dana_admin.post(
            "/admin/accounts/user/",
            {"action": "reset_second_factor", "_selected_action": [carol.pk], "reason": "x"},
        )
        assert mfa.has_authenticator(carol)
        assert not AuditEvent.objects.filter(detail__mfa="reset").exists()

    def test_the_system_admin_resets_anyones(self, client, root, carol):
        enrol(carol)
        client.force_login(root)
        client.post(
            "/admin/accounts/user/",
            {"action": "reset_second_factor", "_selected_action": [carol.pk], "reason": "x"},
        )
        assert not mfa.has_authenticator(carol)

    def test_a_worker_has_no_such_button(self, client, alice, bob):
        enrol(bob)
        client.force_login(alice)
        client.post(
            "/admin/accounts/user/",
            {"action": "reset_second_factor", "_selected_action": [bob.pk], "reason": "x"},
        )
        assert mfa.has_authenticator(bob)

    def test_authenticator_secrets_are_not_in_the_admin(self, client, root):
        client.force_login(root)
        assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
        assert client.get("/admin/otp_static/staticdevice/").status_code == 404


class TestNewRecoveryCodes:
    URL = "/accounts/mfa/recovery-codes/"

    def verified(self, client, user):
        device, codes = enrol(user)
        sign_in(client, user)
        with later():
            client.post("/accounts/mfa/verify/", {"code": mfa.current_code(device)})
        return device, codes

    def test_the_apps_code_gives_ten_new_codes_and_the_old_ones_stop_working(
        self, client, alice, required
    ):
        device, old = self.verified(client, alice)
        assert "get new recovery codes" in client.get("/accounts/password/").content.decode()

        with later(seconds=65):
            page = client.post(self.URL, {"code": mfa.current_code(device)})

        assert page.status_code == 200
        new = page.context["codes"]
        assert len(new) == 10
        assert not set(new) & set(old)
        assert "no longer work" in page.content.decode()
        assert mfa.check_code(alice, new[0])
        # (After a success: a failure makes the recovery codes wait a moment.)
        assert not mfa.check_code(alice, old[0])
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.UPDATE, detail__mfa="new recovery codes"
        ).exists()

    def test_a_wrong_code_changes_nothing(self, client, alice, required):
        device, old = self.verified(client, alice)
        with later(seconds=65):
            page = client.post(self.URL, {"code": wrong(mfa.current_code(device))})
        assert page.status_code == 200
        assert "does not match" in page.content.decode()
        assert mfa.check_code(alice, old[0])

    def test_a_recovery_code_cannot_mint_more(self, client, alice, required):
        _, old = self.verified(client, alice)
        page = client.post(self.URL, {"code": old[1]})
        assert "6-digit code" in page.content.decode()
        assert mfa.check_code(alice, old[1])

    def test_without_an_authenticator_it_leads_to_enrolment(self, client, alice):
        client.force_login(alice)
        response = client.get(self.URL)
        assert response.status_code == 302
        assert response.url == "/accounts/mfa/enrol/"
        assert "recovery codes" not in client.get("/accounts/password/").content.decode()

    def test_an_unverified_session_must_give_the_code_first(self, client, alice, required):
        enrol(alice)
        sign_in(client, alice)
        response = client.get(self.URL)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/mfa/verify/")
