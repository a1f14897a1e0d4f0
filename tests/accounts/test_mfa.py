"""accounts.mfa: who owes a second factor, checking codes, enrolment and reset."""

import datetime
import re
from base64 import b32decode
from io import StringIO

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import User
from audit.models import Action, AuditEvent
from core.exceptions import DomainError, NotPermitted


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The sign-in limits count failures per username in the shared cache.
    cache.clear()


def enrol(user):
    """`user` with a confirmed authenticator; returns (device, recovery codes)."""
    device = mfa.pending_authenticator(user)
    codes = mfa.confirm_enrolment(user=user, code=mfa.current_code(device))
    return TOTPDevice.objects.get(user=user), codes


def later(seconds=31):
    """The clock moved on, past the code just used (a code counts once)."""
    return time_machine.travel(timezone.now() + datetime.timedelta(seconds=seconds), tick=True)


class TestMfaRequired:
    def test_not_without_the_setting_or_an_authenticator(self, alice):
        assert not mfa.mfa_required(alice)

    def test_an_enrolled_user_always_owes_it(self, alice):
        enrol(alice)
        assert mfa.mfa_required(alice)

    def test_an_unconfirmed_authenticator_does_not_count(self, alice):
        mfa.pending_authenticator(alice)
        assert not mfa.mfa_required(alice)

    def test_with_the_setting_every_role_owes_it(self, settings, alice, sam, dana, root):
        settings.MFA_REQUIRED = True
        assert all(mfa.mfa_required(user) for user in (alice, sam, dana, root))


class TestCheckCode:
    def test_the_apps_current_code_passes_once(self, alice):
        device, _ = enrol(alice)
        with later():
            code = mfa.current_code(device)
            assert mfa.check_code(alice, code)
            assert not mfa.check_code(alice, code)

    def test_a_wrong_code_fails(self, alice):
        device, _ = enrol(alice)
        with later():
            wrong = f"{(int(mfa.current_code(device)) + 1) % 1_000_000:06d}"
            assert not mfa.check_code(alice, wrong)

    def test_anothers_code_fails(self, alice, bob):
        enrol(alice)
        bobs, _ = enrol(bob)
        with later():
            assert not mfa.check_code(alice, mfa.current_code(bobs))

    def test_a_recovery_code_passes_once_however_typed(self, alice):
        _, codes = enrol(alice)
        assert mfa.check_code(alice, f"  {codes[0].upper()} ")
        assert not mfa.check_code(alice, codes[0])
        with later(seconds=5):  # past the wait the refused code caused
            assert mfa.check_code(alice, codes[1].replace("-", ""))
        assert StaticToken.objects.filter(device__user=alice).count() == 8

    def test_recovery_codes_are_not_stored_as_typed(self, alice):
        _, codes = enrol(alice)
        stored = set(StaticToken.objects.values_list("token", flat=True))
        assert len(stored) == 10
        assert not stored & ({c.replace("-", "") for c in codes} | set(codes))

    def test_wrong_codes_make_even_the_right_one_wait(self, alice):
        device, codes = enrol(alice)
        with later():
            for _ in range(4):
                assert not mfa.check_code(alice, "000000")
            assert mfa.seconds_to_wait(alice) > 0
            assert not mfa.check_code(alice, mfa.current_code(device))
        with later(seconds=120):
            assert mfa.seconds_to_wait(alice) == 0
            assert mfa.check_code(alice, mfa.current_code(device))

    def test_nothing_passes_without_an_authenticator(self, alice):
        assert not mfa.check_code(alice, "123456")
        assert not mfa.check_code(alice, "")


class TestConfirmEnrolment:
    def test_a_wrong_code_leaves_the_authenticator_unconfirmed(self, alice):
        device = mfa.pending_authenticator(alice)
        wrong = f"{(int(mfa.current_code(device)) + 1) % 1_000_000:06d}"
        with pytest.raises(DomainError) as refused:
            mfa.confirm_enrolment(user=alice, code=wrong)
        assert refused.value.field == "code"
        assert not mfa.has_authenticator(alice)

    def test_the_right_code_confirms_and_gives_ten_distinct_recovery_codes(self, alice):
        device, codes = enrol(alice)
        assert device.confirmed
        assert len(set(codes)) == 10
        assert StaticDevice.objects.get(user=alice).confirmed
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.UPDATE, detail__mfa="enrolled"
        ).exists()

    def test_the_same_secret_is_offered_until_confirmed(self, alice):
        assert mfa.pending_authenticator(alice).key == mfa.pending_authenticator(alice).key
        assert TOTPDevice.objects.filter(user=alice).count() == 1

    def test_the_secret_is_shown_in_base32(self, alice):
        device = mfa.pending_authenticator(alice)
        text = mfa.secret_text(device).replace(" ", "")
        assert len(text) == 32
        assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


class TestResetDevices:
    def test_an_agency_admin_resets_her_agencys_worker_with_a_reason(self, dana, alice):
        enrol(alice)
        mfa.reset_devices(actor=dana, user=alice, reason="phone lost")
        assert not TOTPDevice.objects.filter(user=alice).exists()
        assert not StaticDevice.objects.filter(user=alice).exists()
        event = AuditEvent.objects.get(detail__mfa="reset")
        assert event.actor == dana
        assert event.object_id == str(alice.pk)
        assert event.agency_id == alice.agency_id
        assert event.detail["reason"] == "phone lost"

    def test_not_another_agencys_user(self, dana, carol):
        enrol(carol)
        with pytest.raises(NotPermitted):
            mfa.reset_devices(actor=dana, user=carol, reason="phone lost")
        assert mfa.has_authenticator(carol)

    def test_not_by_a_worker(self, alice, bob):
        enrol(bob)
        with pytest.raises(NotPermitted):
            mfa.reset_devices(actor=alice, user=bob, reason="phone lost")
        assert mfa.has_authenticator(bob)

    def test_not_the_system_admin_by_an_agency_admin(self, dana, root):
        enrol(root)
        with pytest.raises(NotPermitted):
            mfa.reset_devices(actor=dana, user=root, reason="phone lost")

    def test_the_system_admin_resets_anyone(self, root, carol, alice):
        enrol(carol)
        enrol(alice)
        mfa.reset_devices(actor=root, user=carol, reason="new phone")
        assert not mfa.has_authenticator(carol)
        assert mfa.has_authenticator(alice)

    def test_a_reason_is_required(self, dana, alice):
        enrol(alice)
        with pytest.raises(DomainError):
            mfa.reset_devices(actor=dana, user=alice, reason="  ")
        assert mfa.has_authenticator(alice)


class TestOwesFactor:
    def test_a_user_without_an_authenticator_costs_no_query_per_page(
        self, client, alice, django_assert_num_queries
    ):
        client.force_login(alice)  # notes, once, that she has no authenticator
        request = RequestFactory().get("/cases/")
        request.user = alice
        request.user.is_verified = lambda: False
        request.session = client.session
        assert request.session[mfa.SESSION_KEY] is False  # the page loads its session anyway
        with django_assert_num_queries(0):
            assert not mfa.owes_factor(request)


class TestDemoAuthenticator:
    def test_the_published_secret_gives_the_codes(self, alice):
        device = mfa.set_demo_authenticator(user=alice, secret="JBSWY3DPEHPK3PXP")
        assert device.confirmed
        assert device.key == "48656c6c6f21deadbeef"  # "Hello!" and 0xdeadbeef
        again = mfa.set_demo_authenticator(user=alice, secret="JBSWY3DPEHPK3PXP")
        assert again.pk == device.pk


class TestDemoTotpCommand:
    def test_prints_the_code_the_demo_logins_app_shows(self, alice):
        device = mfa.set_demo_authenticator(user=alice, secret="JBSWY3DPEHPK3PXP")
        out = StringIO()
        call_command("demo_totp", "alice", stdout=out)
        assert out.getvalue().strip() == mfa.current_code(device)
        assert mfa.check_code(alice, out.getvalue())

    def test_refuses_a_login_without_an_authenticator(self, alice):
        with pytest.raises(CommandError):
            call_command("demo_totp", "alice", stdout=StringIO())

    def test_refuses_in_production(self, settings, alice):
        settings.DEMO_DATA_ALLOWED = False
        mfa.set_demo_authenticator(user=alice, secret="JBSWY3DPEHPK3PXP")
        with pytest.raises(CommandError):
            call_command("demo_totp", "alice", stdout=StringIO())

    def test_the_demo_seed_gives_maya_the_published_secret(self, db):
        out = StringIO()
        call_command("seed_demo", stdout=out)
        maya = User.objects.get(username="maya")
        device = TOTPDevice.objects.get(user=maya, confirmed=True)
        secret = re.search(r"oathtool --totp -b (\w+)", out.getvalue()).group(1)
        assert device.key == b32decode(secret).hex()
        assert mfa.mfa_required(maya)
        assert not mfa.mfa_required(User.objects.get(username="sam"))
