"""The standard protocols (followups/protocols.py) read in each reader's language: a name,
step name or description the product shipped is shown translated, one the agency wrote
is shown as written, and the stored rows keep their English."""

import datetime
import zoneinfo

import pytest
from django.utils import translation

from cases.models import CaseEvent, Disposition
from core.i18n import render_stored, stored_text
from followups import services, texts
from followups.models import FollowUp, Protocol
from followups.protocols import (
    SHIPPED_TEXTS,
    STANDARD_PROTOCOLS,
    as_shipped,
    install_standard_protocols,
)
from tests.followups.factories import make_contact

pytestmark = pytest.mark.django_db

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
# Saturday 1 March 2025, 03:00 UTC: still Friday in Los Angeles.
T0 = datetime.datetime(2025, 3, 1, 3, 0, tzinfo=datetime.UTC)
# The post-crisis check opens 40 hours after the contact: on the Today list by then.
ON_TODAY = T0 + datetime.timedelta(hours=41)

SHIPPED_TITLE = "Post-crisis check: Check-in at 48 hours"
SPANISH_TITLE = "Control tras la crisis: Control a las 48 horas"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


def post_crisis_check(worker) -> FollowUp:
    """The follow-up a crisis resolved on scene schedules (the post-crisis check)."""
    contact = make_contact(worker, disposition=Disposition.RESOLVED_ON_SCENE)
    return FollowUp.objects.get(case=contact.case)


def reading(user, language):
    user.language = language
    user.save(update_fields=["language"])
    return user


def edit_step(admin, protocol, **step):
    """A new version of `protocol` with its one step changed as the admin's form does."""
    current = protocol.current_version()
    (shipped,) = current.steps.all()
    fields = ("unit", "start", "due", "end", "method", "performer", "repeat_every")
    services.save_protocol_version(
        actor=admin,
        protocol=protocol,
        description=current.description,
        end_rule=current.end_rule,
        steps=[{**{f: getattr(shipped, f) for f in fields}, "repeat_times": None, **step}],
        change_note="Our own wording.",
    )


class TestShippedTextsAreTranslated:
    def test_every_shipped_text_has_a_spanish_translation(self):
        shipped = {spec["name"] for spec in STANDARD_PROTOCOLS}
        shipped |= {spec["description"] for spec in STANDARD_PROTOCOLS}
        shipped |= {step["name"] for spec in STANDARD_PROTOCOLS for step in spec["steps"]}
        assert shipped < SHIPPED_TEXTS

        with translation.override("es"):
            untranslated = {text for text in SHIPPED_TEXTS if texts.shipped(text) == text}

        assert not untranslated

    def test_a_shipped_text_read_back_in_the_readers_language_is_stored_in_english(self):
        with translation.override("es"):
            assert as_shipped("Control a las 48 horas") == "Check-in at 48 hours"
            assert as_shipped("  Control a las\n48 horas ") == "Check-in at 48 hours"
            assert as_shipped("Control a las 24 horas") == "Control a las 24 horas"
        with translation.override("en"):
            assert as_shipped("Check-in at 48 hours") == "Check-in at 48 hours"
            assert as_shipped("Control a las 48 horas") == "Control a las 48 horas"

    def test_the_rows_keep_the_english_and_show_the_readers_language(self, dana):
        install_standard_protocols(dana.agency_id)
        protocol = Protocol.objects.get(agency_id=dana.agency_id, key="post-crisis-check")
        version = protocol.current_version()
        (step,) = version.steps.all()

        assert (protocol.name, step.name) == ("Post-crisis check", "Check-in at 48 hours")
        with translation.override("es"):
            assert protocol.display_name == str(protocol) == "Control tras la crisis"
            assert step.display_name == "Control a las 48 horas"
            assert version.display_description.startswith("Un control 48 horas después")
            assert version.display_change_note == "Protocolo estándar tal como se entrega."
        with translation.override("en"):
            assert protocol.display_name == "Post-crisis check"
            assert version.display_description == version.description


class TestFollowUpTitles:
    def test_a_spanish_reader_sees_the_shipped_names_on_today_and_the_follow_up(
        self, login, alice, clock
    ):
        fu = post_crisis_check(alice)
        assert fu.title == SHIPPED_TITLE
        clock.move_to(ON_TODAY, tick=False)
        browser = login(reading(alice, "es"))

        today = browser.get("/followups/today/").content.decode()
        detail = browser.get(f"/followups/{fu.pk}/").content.decode()

        assert SPANISH_TITLE in today
        assert "Control tras la crisis</div>" in today.replace("\n", "")
        assert SPANISH_TITLE in detail
        assert "1. Control a las 48 horas" in detail
        for page in (today, detail):
            assert "Post-crisis check" not in page
            assert "Check-in at 48 hours" not in page

    def test_an_english_reader_sees_english(self, login, alice, clock):
        fu = post_crisis_check(alice)
        clock.move_to(ON_TODAY, tick=False)
        browser = login(reading(alice, "en"))

        assert SHIPPED_TITLE in browser.get("/followups/today/").content.decode()
        assert SHIPPED_TITLE in browser.get(f"/followups/{fu.pk}/").content.decode()

    def test_names_the_agency_gave_are_shown_as_given(self, login, alice, dana, clock):
        install_standard_protocols(alice.agency_id)
        protocol = Protocol.objects.get(agency_id=alice.agency_id, key="post-crisis-check")
        Protocol.objects.filter(pk=protocol.pk).update(name="Llamada de Dana")
        edit_step(dana, protocol, name="Second-day call to Dana's clients")
        fu = post_crisis_check(alice)
        clock.move_to(ON_TODAY, tick=False)
        browser = login(reading(alice, "es"))

        today = browser.get("/followups/today/").content.decode()

        assert fu.title == "Llamada de Dana: Second-day call to Dana's clients"
        assert "Llamada de Dana: Second-day call to Dana&#x27;s clients" in today

    def test_a_renamed_protocol_keeps_its_shipped_step_translated(self, alice):
        install_standard_protocols(alice.agency_id)
        Protocol.objects.filter(agency_id=alice.agency_id, key="post-crisis-check").update(
            name="Dana's check"
        )
        fu = post_crisis_check(alice)

        with translation.override("es"):
            assert fu.display_title == "Dana's check: Control a las 48 horas"

    @pytest.mark.parametrize(
        ("title", "occurrence", "spanish"),
        [
            ("Caring Contacts: Monthly message 2 of 4", 2, "Contactos de cuidado: Mensaje mensual 2 de 4"),
            (
                "Safety Planning Intervention follow-up calls: Weekly call 3",
                3,
                "Llamadas de seguimiento de la Intervención de Planificación de Seguridad: "
                "Llamada semanal 3",
            ),
            ("Referral check: Referral check at 7 days", 1, "Control de la derivación: Control de la derivación a los 7 días"),
            # Agency names with ": " in them, or that only look like a repeat, read as stored.
            ("Team A: 2-day check: Call 7", 7, "Team A: 2-day check: Call 7"),
            ("Our protocol: Weekly call 3", 2, "Our protocol: Weekly call 3"),
        ],
    )  # fmt: skip
    def test_the_parts_of_a_title(self, title, occurrence, spanish):
        fu = FollowUp(title=title, step_id=1, occurrence=occurrence)

        with translation.override("es"):
            assert fu.display_title == spanish
        with translation.override("en"):
            assert fu.display_title == title

    def test_a_title_as_an_argument_of_a_stored_text(self):
        """What the case timeline stores: the English, and a message each reader reads."""
        title = texts.title_argument(
            "Caring Contacts: Monthly message 2 of 4", from_step=True, occurrence=2
        )
        text = stored_text("Follow-up done: %(title)s", title=title)

        assert text.english == "Follow-up done: Caring Contacts: Monthly message 2 of 4"
        with translation.override("es"):
            assert render_stored(text.data, text.english) == (
                "Seguimiento hecho: Contactos de cuidado: Mensaje mensual 2 de 4"
            )
        one_off = texts.title_argument(texts.ONE_OFF_TITLE, from_step=False, occurrence=1)
        assert one_off == {"t": texts.ONE_OFF_TITLE}


class TestProtocolPages:
    def test_a_spanish_admin_reads_the_shipped_protocols_in_spanish(self, login, dana):
        install_standard_protocols(dana.agency_id)
        protocol = Protocol.objects.get(agency_id=dana.agency_id, key="caring-contacts")
        browser = login(reading(dana, "es"))

        listed = browser.get("/followups/protocols/").content.decode()
        detail = browser.get(f"/followups/protocols/{protocol.pk}/").content.decode()

        assert "Control tras la crisis" in listed
        assert "Contactos de cuidado" in listed
        assert "Caring Contacts" not in listed
        assert "Mensaje bimestral" in detail
        assert "Mensajes breves, afectuosos y sin exigencias" in detail
        assert "Protocolo estándar tal como se entrega." in detail
        assert "Two-monthly message" not in detail

    def test_the_edit_form_shows_them_in_spanish_and_keeps_them_shipped_if_unchanged(
        self, login, dana
    ):
        install_standard_protocols(dana.agency_id)
        protocol = Protocol.objects.get(agency_id=dana.agency_id, key="post-crisis-check")
        shipped = protocol.current_version()
        (step,) = shipped.steps.all()
        browser = login(reading(dana, "es"))
        with translation.override("es"):
            spanish_description = shipped.display_description

        form = browser.get(f"/followups/protocols/{protocol.pk}/edit/").content.decode()
        assert 'value="Control a las 48 horas"' in form
        assert spanish_description in form
        assert "Check-in at 48 hours" not in form

        fields = ("unit", "start", "due", "end", "method", "performer")
        steps = [
            {**{f: getattr(step, f) for f in fields}, "name": "Control a las 48 horas"},
            {**{f: getattr(step, f) for f in fields}, "name": "Llamada del segundo día"},
        ]
        data = {
            "description": spanish_description,
            "end_rule": shipped.end_rule,
            "change_note": "Una llamada más.",
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "1",
            "steps-MAX_NUM_FORMS": "40",
        }
        for i, fields_of_step in enumerate(steps):
            data.update({f"steps-{i}-{k}": str(v) for k, v in fields_of_step.items()})
        assert browser.post(f"/followups/protocols/{protocol.pk}/edit/", data).status_code == 302

        saved = protocol.current_version()
        assert saved.number == 2
        assert saved.description == shipped.description
        assert [s.name for s in saved.steps.all()] == [
            "Check-in at 48 hours",
            "Llamada del segundo día",
        ]


class TestTimeline:
    def test_an_enrolment_reads_in_the_readers_language(self, alice):
        fu = post_crisis_check(alice)
        services.complete_followup(actor=alice, followup=fu)
        events = CaseEvent.objects.filter(case=fu.case)

        with translation.override("es"):
            spanish = {event.text for event in events}
        with translation.override("en"):
            english = {event.text for event in events}

        assert any(
            t.startswith("Inscrito en Control tras la crisis (1 seguimientos)") for t in spanish
        )
        assert f"Seguimiento hecho: {SPANISH_TITLE}" in spanish
        assert any(t.startswith("Enrolled in Post-crisis check (1 follow-ups)") for t in english)
        assert f"Follow-up done: {SHIPPED_TITLE}" in english
