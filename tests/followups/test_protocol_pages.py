"""The protocol pages: who sees them, the version history, and editing (a new version
that applies to new enrolments only)."""

import pytest

from audit.models import Action, AuditEvent
from followups.models import Enrolment, FollowUp, Protocol, ProtocolVersion
from followups.protocols import install_standard_protocols
from tests.followups.factories import make_contact, protocol

pytestmark = pytest.mark.django_db


def step_post(steps, **fields):
    """POST data of the edit form with `steps` (dicts of step fields)."""
    data = {
        "description": "A check after a crisis resolved on scene.",
        "end_rule": "steps_done",
        "change_note": "Earlier check, as the team asked.",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "1",
        "steps-MAX_NUM_FORMS": "40",
    }
    for i, step in enumerate(steps):
        full = {
            "unit": "hours",
            "method": "phone",
            "performer": "assigned_worker",
            "repeat_every": "",
            "repeat_times": "",
            **step,
        }
        for key, value in full.items():
            data[f"steps-{i}-{key}"] = str(value)
    data.update(fields)
    return data


CHECK_24H = {"name": "Check-in at 24 hours", "start": 24, "due": 24, "end": 48}


class TestProtocolList:
    def test_supervisors_and_admins_see_the_agencys_protocols_installed_if_none(
        self, login, sam, dana, carol, django_assert_max_num_queries
    ):
        install_standard_protocols(carol.agency_id)
        assert not Protocol.objects.filter(agency_id=sam.agency_id).exists()
        assert login(sam).get("/followups/protocols/").status_code == 200  # installs them

        for user in (sam, dana):
            browser = login(user)
            with django_assert_max_num_queries(10):
                response = browser.get("/followups/protocols/")
            assert response.status_code == 200
            shown = {p.pk for p in response.context["protocols"]}
            assert shown == set(
                Protocol.objects.filter(agency_id=sam.agency_id).values_list("pk", flat=True)
            )
            assert len(shown) == 5
        assert b"Safe Care Transitions" in response.content

    def test_a_worker_is_refused_and_it_is_audited(self, login, alice):
        response = login(alice).get("/followups/protocols/")

        assert response.status_code == 403
        assert AuditEvent.objects.filter(
            actor=alice, action=Action.DENIED, object_type="protocol_list"
        ).exists()


class TestTooManySteps:
    def test_a_posted_count_past_the_limit_is_refused_without_building_the_forms(self, login, dana):
        post_crisis = protocol(dana.agency, "post-crisis-check")
        data = step_post([CHECK_24H], **{"steps-TOTAL_FORMS": "1000"})

        response = login(dana).post(f"/followups/protocols/{post_crisis.pk}/edit/", data)

        assert response.status_code == 200
        assert "Please submit at most 40 forms." in response.content.decode()
        assert response.content.decode().count('name="steps-') < 41 * 12
        assert post_crisis.versions.count() == 1


class TestProtocolDetail:
    def test_it_shows_every_version_and_its_steps(self, login, dana):
        post_crisis = protocol(dana.agency, "post-crisis-check")
        login(dana).post(f"/followups/protocols/{post_crisis.pk}/edit/", step_post([CHECK_24H]))

        response = login(dana).get(f"/followups/protocols/{post_crisis.pk}/")

        assert response.status_code == 200
        text = response.content.decode()
        assert "Version 2 (current)" in text
        assert "Version 1" in text
        assert "Check-in at 24 hours" in text
        assert "Check-in at 48 hours" in text
        assert "Earlier check, as the team asked." in text

    def test_a_worker_gets_403_and_another_agency_404(self, login, alice, carol, sam):
        post_crisis = protocol(sam.agency, "post-crisis-check")
        url = f"/followups/protocols/{post_crisis.pk}/"

        assert login(alice).get(url).status_code == 403
        assert login(carol).get(url).status_code == 404
        assert AuditEvent.objects.filter(
            actor=carol, action=Action.DENIED, object_type="protocol", object_id=post_crisis.pk
        ).exists()
        assert login(sam).get(url).status_code == 200

    def test_another_agencys_protocol_is_404_for_its_admin_too(self, login, dana, carol):
        theirs = protocol(carol.agency, "referral-check")

        assert login(dana).get(f"/followups/protocols/{theirs.pk}/").status_code == 404
        assert login(dana).get(f"/followups/protocols/{theirs.pk}/edit/").status_code == 404


class TestEditProtocol:
    def test_only_agency_admins_edit(self, login, sam, alice, carol, dana):
        post_crisis = protocol(dana.agency, "post-crisis-check")
        url = f"/followups/protocols/{post_crisis.pk}/edit/"

        assert login(sam).get(url).status_code == 403
        assert login(sam).post(url, step_post([CHECK_24H])).status_code == 403
        assert login(alice).post(url, step_post([CHECK_24H])).status_code == 403
        assert login(carol).post(url, step_post([CHECK_24H])).status_code == 404
        assert post_crisis.versions.count() == 1
        assert login(dana).get(url).status_code == 200

    def test_saving_makes_a_new_version_by_the_admin_with_its_note(self, login, dana):
        post_crisis = protocol(dana.agency, "post-crisis-check")

        response = login(dana).post(
            f"/followups/protocols/{post_crisis.pk}/edit/", step_post([CHECK_24H])
        )

        assert response.status_code == 302
        version = post_crisis.current_version()
        assert version.number == 2
        assert version.created_by == dana
        assert version.change_note == "Earlier check, as the team asked."
        assert [(s.name, s.start, s.due, s.end) for s in version.steps.all()] == [
            ("Check-in at 24 hours", 24, 24, 48)
        ]
        assert AuditEvent.objects.filter(
            actor=dana, action=Action.UPDATE, object_type="protocol", object_id=post_crisis.pk
        ).exists()

    def test_a_change_applies_to_new_enrolments_only(self, login, dana, alice):
        before = make_contact(alice)  # resolved on scene: a 48-hour check
        post_crisis = protocol(dana.agency, "post-crisis-check")
        login(dana).post(f"/followups/protocols/{post_crisis.pk}/edit/", step_post([CHECK_24H]))

        after = make_contact(alice)

        old = FollowUp.objects.get(case=before.case)
        new = FollowUp.objects.get(case=after.case)
        assert old.enrolment.version.number == 1
        assert (old.due_at - before.cleared_at).total_seconds() == 48 * 3600
        assert new.enrolment.version.number == 2
        assert (new.due_at - after.cleared_at).total_seconds() == 24 * 3600

    @pytest.mark.parametrize(
        ("steps", "fields", "message"),
        [
            ([{**CHECK_24H, "start": 30}], {}, "in that order"),
            ([{**CHECK_24H, "unit": "weeks"}], {}, "Select a valid choice"),
            ([{**CHECK_24H, "repeat_times": 3}], {}, "Say how often it repeats"),
            ([{**CHECK_24H, "repeat_every": 10}], {}, "repeat before its window closes"),
            ([{**CHECK_24H, "start": -1}], {}, "greater than or equal to 0"),
            ([], {}, "at least 1"),
            ([CHECK_24H], {"change_note": ""}, "Say what changed and why"),
            ([CHECK_24H], {"end_rule": "forever"}, "Select a valid choice"),
        ],
    )
    def test_bad_input_gives_form_errors_and_no_version(self, login, dana, steps, fields, message):
        post_crisis = protocol(dana.agency, "post-crisis-check")

        response = login(dana).post(
            f"/followups/protocols/{post_crisis.pk}/edit/", step_post(steps, **fields)
        )

        assert response.status_code == 200
        assert message in response.content.decode()
        assert ProtocolVersion.objects.filter(protocol=post_crisis).count() == 1


class TestSwitchProtocol:
    def test_an_admin_switches_a_protocol_off_for_new_enrolments(self, login, dana, alice):
        post_crisis = protocol(dana.agency, "post-crisis-check")

        response = login(dana).post(
            f"/followups/protocols/{post_crisis.pk}/active/", {"active": "0"}
        )

        assert response.status_code == 302
        post_crisis.refresh_from_db()
        assert not post_crisis.is_active
        contact = make_contact(alice)
        assert not Enrolment.objects.filter(case=contact.case).exists()

        login(dana).post(f"/followups/protocols/{post_crisis.pk}/active/", {"active": "1"})
        post_crisis.refresh_from_db()
        assert post_crisis.is_active

    def test_a_supervisor_cannot_and_another_agency_gets_404(self, login, sam, carol, dana):
        post_crisis = protocol(dana.agency, "post-crisis-check")
        url = f"/followups/protocols/{post_crisis.pk}/active/"

        assert login(sam).post(url, {"active": "0"}).status_code == 403
        assert login(carol).post(url, {"active": "0"}).status_code == 404
        assert login(dana).get(url).status_code == 405
        post_crisis.refresh_from_db()
        assert post_crisis.is_active

    @pytest.mark.parametrize("body", [{}, {"active": ""}, {"active": "off"}, {"active": "\x00"}])
    def test_a_post_without_an_explicit_choice_changes_nothing(self, login, dana, body):
        post_crisis = protocol(dana.agency, "post-crisis-check")
        url = f"/followups/protocols/{post_crisis.pk}/active/"

        response = login(dana).post(url, body)

        assert response.status_code == 400
        assert b"on or off" in response.content or b"valid choice" in response.content
        post_crisis.refresh_from_db()
        assert post_crisis.is_active
        assert not AuditEvent.objects.filter(object_type="protocol", action=Action.UPDATE).exists()
