"""Timeline entries that name fields or concerns, in each reader's language: the English
summary stays as it always read (the field names, the concerns as recorded), and the
stored text (detail["i18n"]) names them in words each reader reads in their language; an
entry written before keeps its English."""

import datetime

import pytest
from django.urls import reverse
from django.utils import translation

from cases import services
from cases.models import CaseEvent, CaseEventKind, Concern
from tests.conftest import HIGH_RISK

pytestmark = pytest.mark.django_db


def read(event, language):
    with translation.override(language):
        return event.text


def written_before(event):
    """The event as a row written before its message was stored: its summary alone."""
    CaseEvent.objects.filter(pk=event.pk).update(detail={})
    event.refresh_from_db()
    return event


class TestClientDetailsChanged:
    @pytest.fixture
    def event(self, alice, alice_case):
        services.update_client(
            actor=alice,
            client=alice_case.client,
            data={"pronouns": "they/them", "phone": "(541) 555-7777"},
        )
        return alice_case.events.get(kind=CaseEventKind.CLIENT_UPDATED)

    def test_the_summary_names_the_fields_as_it_did(self, event):
        assert event.summary == "Client details changed: phone, pronouns"
        assert event.detail["i18n"]["a"] == {"fields": {"ts": ["phone number", "pronouns"]}}

    def test_each_reader_reads_the_fields_in_their_language(self, event):
        assert read(event, "en") == "Client details changed: phone number, pronouns"
        assert read(event, "es") == "Datos del cliente modificados: número de teléfono, pronombres"

    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            ("es", "Datos del cliente modificados: número de teléfono, pronombres"),
            ("en", "Client details changed: phone number, pronouns"),
        ],
    )
    def test_the_case_page_gives_it_in_the_readers_language(
        self, login, alice, alice_case, event, language, expected
    ):
        alice.language = language
        alice.save(update_fields=["language"])

        page = login(alice).get(reverse("casework:case_detail", args=[alice_case.pk]))

        assert expected in page.content.decode()

    def test_the_identifiers_too(self, alice, alice_case):
        services.update_client(
            actor=alice, client=alice_case.client, data={}, identifiers=[("hmis", "H-9")]
        )
        event = alice_case.events.get(kind=CaseEventKind.CLIENT_UPDATED)
        assert read(event, "es") == "Datos del cliente modificados: identificadores"

    def test_an_entry_written_before_keeps_its_english(self, event):
        assert read(written_before(event), "es") == "Client details changed: phone, pronouns"


class TestContactAmended:
    def test_each_reader_reads_the_fields_in_their_language(self, alice, record_contact_for):
        # 19:00 on Saturday 5 Dec in the agency's zone: already the 6th in UTC.
        received = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)
        contact = record_contact_for(alice, narrative="Original words.", received_at=received)
        services.amend_contact(
            actor=alice,
            contact=contact,
            changes={"narrative": "Corrected words.", "location": "Skinner Butte Park"},
            reason="Typo",
        )

        event = contact.case.events.get(kind=CaseEventKind.AMENDED)
        english = "Contact of Sat 5 Dec 2026 amended (location, narrative): Typo"
        assert event.summary == english
        assert read(event, "en") == english
        assert (
            read(event, "es") == "Contacto del sáb 5 dic 2026 corregido (ubicación, relato): Typo"
        )
        assert read(written_before(event), "es") == event.summary

    def test_a_screen_corrected_names_its_question_and_the_risk_level(
        self, alice, record_contact_for
    ):
        contact = record_contact_for(alice, **HIGH_RISK)
        services.amend_contact(
            actor=alice, contact=contact, changes={"cssrs_intent": False}, reason="Misheard"
        )

        event = contact.case.events.get(kind=CaseEventKind.AMENDED)
        assert "(cssrs_intent, risk_level)" in event.summary
        assert "(C-SSRS question 4, risk level)" in read(event, "en")
        assert "(pregunta C-SSRS 4, nivel de riesgo)" in read(event, "es")


class TestPresentingConcernsChanged:
    def test_each_reader_reads_the_concerns_the_product_installed_in_their_language(
        self, alice, alice_case
    ):
        housing = Concern.objects.get(code="housing")
        substance_use = Concern.objects.get(code="substance-use")
        # One an agency typed in the admin: named as typed in every language.
        eviction = Concern.objects.create(code="eviction", label="Eviction notice")
        services.set_case_concerns(
            actor=alice, case=alice_case, concerns=[housing, substance_use, eviction]
        )
        services.set_case_concerns(actor=alice, case=alice_case, concerns=[eviction])

        added, removed = alice_case.events.filter(kind=CaseEventKind.CONCERNS_CHANGED).order_by(
            "pk"
        )
        assert added.summary == (
            "Presenting concerns: added Eviction notice, Housing or homelessness, Substance use"
        )
        assert read(added, "en") == added.summary
        assert read(added, "es") == (
            "Problemas presentados: agregados Eviction notice, "
            "Vivienda o situación sin vivienda, Consumo de sustancias"
        )
        assert read(removed, "es") == (
            "Problemas presentados: quitados Vivienda o situación sin vivienda, "
            "Consumo de sustancias"
        )

    def test_an_entry_written_before_keeps_its_english(self, alice, alice_case):
        housing = Concern.objects.get(code="housing")
        services.set_case_concerns(actor=alice, case=alice_case, concerns=[housing])

        event = alice_case.events.get(kind=CaseEventKind.CONCERNS_CHANGED)
        assert read(written_before(event), "es") == (
            "Presenting concerns: added Housing or homelessness"
        )
