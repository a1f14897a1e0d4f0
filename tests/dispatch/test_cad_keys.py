"""CAD keys: made (shown once, only a digest kept), checked, revoked; the command that
makes one and the admin that makes and revokes them."""

import datetime
import hashlib
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command

from audit.models import Action, AuditEvent
from dispatch.cad_keys import (
    authenticate_cad_key,
    create_cad_key,
    revoke_cad_key,
)
from dispatch.exceptions import DispatchInvalid
from dispatch.models import CadKey


@pytest.fixture
def made(agency_a, dana):
    return create_cad_key(agency=agency_a, name=" County CAD ", actor=dana)


class TestCreateCadKey:
    def test_the_key_is_shown_once_and_only_its_digest_kept(self, made, agency_a, dana, frozen):
        key, raw = made

        assert raw.startswith(f"cad_{key.prefix}_")
        assert len(raw) > 50
        assert key.digest == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in str(CadKey.objects.values().get())
        assert (key.agency, key.name, key.created_by, key.created_at) == (
            agency_a,
            "County CAD",
            dana,
            frozen.now,
        )
        row = AuditEvent.objects.get(action=Action.CREATE, object_type="cadkey")
        assert (row.actor, row.agency_id, row.object_id) == (dana, agency_a.pk, str(key.pk))
        assert raw not in str(row.detail)

    def test_each_key_is_its_own(self, agency_a):
        first = create_cad_key(agency=agency_a, name="A", actor=None)
        second = create_cad_key(agency=agency_a, name="B", actor=None)

        assert first[0].prefix != second[0].prefix
        assert first[1] != second[1]

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101])
    def test_a_name_is_required_and_short(self, agency_a, name):
        with pytest.raises(DispatchInvalid):
            create_cad_key(agency=agency_a, name=name, actor=None)
        assert not CadKey.objects.exists()


class TestAuthenticateCadKey:
    def test_the_key_is_found_by_its_prefix_and_checked_whole(self, made):
        key, raw = made

        assert authenticate_cad_key(raw) == key
        assert authenticate_cad_key(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None

    @pytest.mark.parametrize(
        "raw", ["", "cad_", "cad_abc", "token_abc_def", "cad_ab-c_secret", "cad_zzzz_secret"]
    )
    def test_what_is_no_key_is_none(self, made, raw):
        assert authenticate_cad_key(raw) is None

    def test_a_revoked_key_is_none(self, made, dana):
        key, raw = made
        revoke_cad_key(key=key, actor=dana)

        assert authenticate_cad_key(raw) is None

    def test_last_use_is_written_at_most_once_a_minute(self, made, frozen):
        key, raw = made
        start = frozen.now

        authenticate_cad_key(raw)
        frozen.shift(seconds=30)
        authenticate_cad_key(raw)
        key.refresh_from_db()
        assert key.last_used_at == start

        later = frozen.shift(seconds=31)
        authenticate_cad_key(raw)
        key.refresh_from_db()
        assert key.last_used_at == later


class TestRevokeCadKey:
    def test_it_stops_at_once_and_twice_changes_nothing(self, made, dana, frozen):
        key, _ = made

        revoke_cad_key(key=key, actor=dana)
        frozen.shift(minutes=5)
        again = revoke_cad_key(key=key, actor=dana)

        assert again.revoked_at == frozen.now - datetime.timedelta(minutes=5)
        assert AuditEvent.objects.filter(action=Action.UPDATE, object_type="cadkey").count() == 1


class TestCommand:
    @pytest.mark.parametrize("by", ["slug", "pk"])
    def test_it_prints_the_key_once(self, agency_a, by):
        out, err = StringIO(), StringIO()

        call_command(
            "create_cad_key",
            "--agency",
            str(getattr(agency_a, by)),
            "--name",
            "County CAD",
            stdout=out,
            stderr=err,
        )

        raw = out.getvalue().strip()
        key = CadKey.objects.get()
        assert authenticate_cad_key(raw) == key
        assert (key.agency, key.created_by) == (agency_a, None)
        assert raw not in err.getvalue()

    @pytest.mark.parametrize(
        ("agency", "name", "reason"),
        [
            ("nowhere", "County CAD", "No agency has the id or slug 'nowhere'."),
            ("99999999999999999999", "County CAD", "No agency has the id or slug"),
            ("agency-a", "  ", "Name the system that holds the key."),
        ],
    )
    def test_bad_input_fails_with_one_line(self, agency_a, agency, name, reason):
        with pytest.raises(CommandError) as failed:
            call_command("create_cad_key", "--agency", agency, "--name", name, stdout=StringIO())

        assert reason in str(failed.value)
        assert "\n" not in str(failed.value)
        assert not CadKey.objects.exists()


class TestAdmin:
    @pytest.fixture
    def staff_dana(self, dana):
        dana.is_staff = True
        dana.save()
        return dana

    def test_the_agency_admin_makes_a_key_shown_once(self, client, staff_dana, agency_a):
        client.force_login(staff_dana)

        response = client.post("/admin/dispatch/cadkey/add/", {"name": "County CAD"})

        assert response.status_code == 302
        key = CadKey.objects.get()
        assert (key.agency, key.created_by) == (agency_a, staff_dana)
        shown = [str(m) for m in get_messages(response.wsgi_request)]
        raw = next(m for m in shown if "shown this once" in m).rsplit(" ", 1)[-1]
        assert authenticate_cad_key(raw) == key
        client.get("/admin/dispatch/cadkey/")  # where the message is shown
        listing = client.get("/admin/dispatch/cadkey/").content.decode()
        assert "County CAD" in listing
        assert raw not in listing

    def test_the_agency_admin_revokes_keys_of_their_agency_only(
        self, client, staff_dana, agency_a, agency_b
    ):
        ours, _ = create_cad_key(agency=agency_a, name="Ours", actor=None)
        theirs, _ = create_cad_key(agency=agency_b, name="Theirs", actor=None)
        client.force_login(staff_dana)

        response = client.post(
            "/admin/dispatch/cadkey/",
            {"action": "revoke", "_selected_action": [ours.pk, theirs.pk]},
        )

        assert response.status_code == 302
        ours.refresh_from_db()
        theirs.refresh_from_db()
        assert ours.revoked_at is not None
        assert theirs.revoked_at is None

    def test_a_dispatcher_has_no_admin(self, client, dex):
        dex.is_staff = True
        dex.save()
        client.force_login(dex)

        assert client.get("/admin/dispatch/cadkey/").status_code == 403
