"""The safety plan's PDF, read back: its text in English and in Spanish, its pages, and
page 1 as an image (saved to /tmp/safety_plan_<language>.png to look at). Needs Pango
(WeasyPrint's system library), as the product does."""

import re

import pypdfium2
import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from plans.models import PROMPTS, MeansKind, Section
from plans.pdf import safety_plan_pdf
from plans.services import MeansStep
from plans.services.safety import MAX_ITEMS, MAX_MEANS
from tests.directory.factories import PhoneFactory, ServiceFactory
from tests.plans.factories import make_safety_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_plan(alice, alice_case):
    """A plan with every step written, as a worker writes one with a client."""
    agency = alice.agency
    agency.crisis_line = "541-555-0000"
    agency.save()
    client = alice_case.client
    client.legal_name, client.preferred_name = "Alexandra Client", "Alex"
    client.save()
    warmline = ServiceFactory(agency=agency, name="Riverbend warmline")
    PhoneFactory(service=warmline, number="541-555-0333")
    return make_safety_plan(
        alice,
        alice_case,
        warning_signs=["Not sleeping", "Staying in my room all day", "Thinking nobody cares"],
        coping=["Walk the dog", "Music in the car", "Cold shower"],
        distractions=[
            {"name": "The library on 5th", "phone": ""},
            {"name": "Cousin Marco", "phone": "541-555-0111"},
        ],
        help_people=[
            {"name": "My sister Ana", "phone": "541-555-0101"},
            {"name": "Pastor Jim", "phone": "541-555-0102"},
        ],
        professionals=[{"name": "Dr Lee", "phone": "541-555-0199"}],
        service_ids=[str(warmline.pk)],
        means=[
            MeansStep(
                kind=MeansKind.FIREARMS, step="Rifle kept in my brother's safe", who="Brother Tom"
            ),
            MeansStep(
                kind=MeansKind.MEDICATIONS,
                step="Pharmacy holds the refill",
                who="Sister Ana",
                confirmed=True,
            ),
        ],
        reasons=["My kids", "Finishing my course"],
    )


def read(data: bytes) -> tuple[pypdfium2.PdfDocument, str]:
    document = pypdfium2.PdfDocument(data)
    text = " ".join(page.get_textpage().get_text_range() for page in document)
    return document, " ".join(text.split())


def ink_ratio(image) -> float:
    """The share of the page's pixels that are printed on (darker than light grey)."""
    grey = image.convert("L")
    histogram = grey.histogram()
    return sum(histogram[:200]) / (grey.width * grey.height)


class TestTheSafetyPlanPdf:
    @pytest.mark.parametrize("language", ["en", "es"])
    def test_it_reads_as_the_plan_in_the_language_asked_for(self, full_plan, language):
        data = safety_plan_pdf(full_plan, language)

        document, text = read(data)
        assert 1 <= len(document) <= 2
        with translation.override(language):
            expected = [str(section.label) for section in Section]
            expected += [str(PROMPTS[section]) for section in Section]
            expected += [str(MeansKind.FIREARMS.label), str(MeansKind.MEDICATIONS.label)]
            zone = full_plan.plan.agency.zone
            made = date_format(timezone.localtime(full_plan.created_at, zone), "DATE_FORMAT")
        for phrase in expected:
            assert " ".join(phrase.split()) in text, phrase
        for phrase in [
            "Alex",
            "988",
            "541-555-0000",  # the agency's line
            "Riverbend warmline",
            "541-555-0333",
            "Dr Lee",
            "My sister Ana",
            "Rifle kept in my brother's safe",
            "Brother Tom",
            "Pharmacy holds the refill",
            "Sister Ana",
            "My kids",
            "Finishing my course",
        ]:
            assert phrase in text, phrase
        # The day it was made is the agency's (tests run where UTC's day is the next one).
        assert made in text
        assert re.search(r"\b1\b", text.split(made)[1][:40]), "the version number by the date"
        # Nothing clinical, no case number, no legal name.
        assert "Alexandra" not in text
        assert "risk" not in text.lower() and "riesgo" not in text.lower()
        assert f"#{full_plan.plan.case_id}" not in text

    @pytest.mark.parametrize("language", ["en", "es"])
    def test_page_one_is_printed_on(self, full_plan, language):
        document = pypdfium2.PdfDocument(safety_plan_pdf(full_plan, language))

        image = document[0].render(scale=1.5).to_pil()
        image.save(f"/tmp/safety_plan_{language}.png")  # noqa: S108 - a fixed path: the page to look at after a run

        assert 0.01 < ink_ratio(image) < 0.4

    def test_a_plan_written_to_the_limits_still_fits_on_two_pages(self, alice, alice_case):
        line = "A sentence long enough to take most of a line of the printed column, "
        lines = [f"{line}{n}" for n in range(MAX_ITEMS)]
        people = [
            {"name": f"Someone to call number {n}", "phone": "541-555-0100"}
            for n in range(MAX_ITEMS)
        ]
        version = make_safety_plan(
            alice,
            alice_case,
            warning_signs=lines,
            coping=lines,
            distractions=people,
            help_people=people,
            professionals=people,
            means=[
                MeansStep(kind=MeansKind.OTHER, step=f"{line}{n}", who="My sister Ana")
                for n in range(MAX_MEANS)
            ],
            reasons=lines,
        )

        document, text = read(safety_plan_pdf(version, "es"))

        assert len(document) <= 2
        assert "My sister Ana" in text
