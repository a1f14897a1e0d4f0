"""A crisis contact in seconds, on a phone in a real headless Chromium: every tap and every
typed field the worker needs is counted, from the caseload (where the app opens) to the
saved case. The targets: a minimum contact in 6 taps and 1 typed field; a full CAHOOTS/STAR
record with the C-SSRS screen in under 20 actions.

A tap is a click on a button, link, box, chip or field (tapping a field to type in it is
a tap); a typed field is one field typed into."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from cases.cssrs import RiskLevel
from cases.models import Contact, ContactSource, Disposition
from tests.browser.support import ARTIFACTS, LIVE_SERVER_DB, log_in
from tests.dispatch.factories import ShiftFactory, ShiftMemberFactory

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


class Worker:
    """The worker's hand on the phone, counting what it does."""

    def __init__(self, page):
        self.page = page
        self.taps = 0
        self.typed = 0

    def tap(self, locator):
        locator.click()
        self.taps += 1

    def type(self, locator, text):
        self.tap(locator)
        locator.fill(text)
        self.typed += 1

    def choose(self, field, label):
        """One of the buttons of a choice (source, call nature, disposition)."""
        self.tap(self.page.locator(f"#div_id_{field}").get_by_text(label, exact=True))

    def answer(self, question, value):
        self.tap(self.page.locator(f"label[for=id_{question}_{value}]"))

    def open(self, part):
        self.tap(self.page.locator(f"#{part} > summary"))

    @property
    def actions(self):
        return self.taps + self.typed


def start(page, live_server, username="alice"):
    """Logged in, on the caseload: where the app opens and the counting starts."""
    log_in(page, live_server, username)
    return Worker(page)


def new_contact(worker):
    worker.tap(worker.page.get_by_role("link", name="New crisis contact").first)
    worker.page.wait_for_url(re.compile(r"/cases/contacts/new/$"))


def save(worker):
    worker.tap(worker.page.get_by_role("button", name="Save contact"))
    worker.page.wait_for_url(re.compile(r"/cases/\d+/$"))
    expect(worker.page.get_by_text("Contact saved")).to_be_visible()
    return Contact.objects.select_related("client").latest("pk")


@pytest.fixture
def alice_worked_before(alice, record_contact_for):
    """Alice's last contact, yesterday evening: a 988 call."""
    return record_contact_for(
        alice,
        new_client_data={"legal_name": "Dana Kerr", "phone": "541-555-0166"},
        source=ContactSource.LIFELINE_988,
        received_at=timezone.now() - datetime.timedelta(days=1),
    )


class TestTheMinimumContact:
    def test_a_named_person_takes_five_taps_and_one_typed_field(
        self, phone, live_server, alice, alice_worked_before
    ):
        worker = start(phone, live_server)
        new_contact(worker)
        # The essentials come first; the rest is folded away.
        expect(phone.locator("#more-times")).not_to_have_attribute("open", "")
        expect(phone.locator("#cssrs")).not_to_have_attribute("open", "")
        # The source is the one of her last contact, shown with one tap to change it.
        expect(phone.locator("#div_id_source .folded-summary")).to_have_text("988 Lifeline")

        worker.type(phone.get_by_label("Legal name"), "Quinn Avery")
        worker.choose("call_nature", "Welfare check")
        worker.choose("disposition", "Resolved on scene")
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=ARTIFACTS / "contact-minimum-phone.png", full_page=True)
        contact = save(worker)

        assert (worker.taps, worker.typed) == (5, 1)
        assert contact.client.legal_name == "Quinn Avery"
        assert contact.client.date_of_birth is None and contact.client.estimated_age is None
        assert contact.source == ContactSource.LIFELINE_988
        assert contact.call_nature.code == "welfare-check"
        assert contact.disposition == Disposition.RESOLVED_ON_SCENE
        assert list(contact.attended_by.all()) == [alice]
        # "Now", to the minute, in the agency's zone.
        assert timezone.now() - contact.received_at < datetime.timedelta(minutes=3)

    def test_a_first_contact_ever_adds_one_tap_for_the_source(self, phone, live_server, alice):
        worker = start(phone, live_server)
        new_contact(worker)
        worker.type(phone.get_by_label("Legal name"), "Quinn Avery")
        worker.choose("source", "Walk-in")
        worker.choose("call_nature", "Welfare check")
        worker.choose("disposition", "Referred to services")
        contact = save(worker)

        assert (worker.taps, worker.typed) == (6, 1)
        assert contact.source == ContactSource.WALK_IN

    def test_an_unidentified_person_is_described_in_six_taps_and_one_typed_field(
        self, phone, live_server, alice, alice_worked_before
    ):
        worker = start(phone, live_server)
        new_contact(worker)
        description = phone.get_by_label("Description")
        expect(description).to_be_hidden()
        worker.tap(phone.get_by_label("Unidentified person"))
        # Ticked, the description appears, ready for typing: no tap to reach it.
        expect(description).to_be_focused()
        description.fill("Man, about 40, green jacket")
        worker.typed += 1
        worker.choose("call_nature", "Intoxication")
        worker.choose("disposition", "Transported to detox")
        contact = save(worker)

        assert (worker.taps, worker.typed) == (5, 1)
        assert contact.client.is_unidentified
        assert contact.client.description == "Man, about 40, green jacket"

    def test_a_missing_choice_is_caught_on_the_phone_before_anything_is_sent(
        self, phone, live_server, alice, alice_worked_before
    ):
        worker = start(phone, live_server)
        new_contact(worker)
        worker.type(phone.get_by_label("Legal name"), "Quinn Avery")
        worker.choose("call_nature", "Welfare check")
        worker.tap(phone.get_by_role("button", name="Save contact"))

        # The browser asks for the disposition, on its first button.
        expect(phone.locator("#id_disposition_0")).to_be_focused()
        assert phone.url.endswith(reverse("casework:contact_new"))
        assert not Contact.objects.filter(client__legal_name="Quinn Avery").exists()


class TestTheFullRecord:
    def test_a_walk_up_contact_with_the_cssrs_screen_takes_under_20_actions(
        self, phone, live_server, alice, bob, alice_worked_before
    ):
        # Alice and Bob are on the van's shift: the crew is filled in.
        shift = ShiftFactory(unit__agency=alice.agency)
        for person in (alice, bob):
            ShiftMemberFactory(shift=shift, user=person)

        worker = start(phone, live_server)
        new_contact(worker)
        worker.type(phone.get_by_label("Legal name"), "Quinn Avery")
        worker.choose("call_nature", "Suicidal ideation or threat")
        # A suicidal call opens the C-SSRS screen by itself.
        expect(phone.locator("#cssrs")).to_have_attribute("open", "")
        worker.choose("disposition", "Transported to crisis centre")
        # Times: received now (the default); on scene and cleared, "Now" as they happen.
        worker.open("more-times")
        worker.tap(phone.locator("[data-now-for=id_on_scene_at]"))
        worker.tap(phone.locator("[data-now-for=id_cleared_at]"))
        # Who attended is the shift's crew, said in the folded part's summary.
        expect(phone.locator("#more-scene .folded-summary")).to_contain_text(
            bob.get_full_name() or bob.username
        )
        worker.open("more-services")
        worker.tap(phone.get_by_text("Crisis counselling or de-escalation", exact=True))
        worker.tap(phone.get_by_text("Transport", exact=True))
        # Answering is doing the screen: no switch to turn on first.
        worker.answer("cssrs_wish_dead", "yes")
        expect(phone.get_by_label("Screen done")).to_be_checked()
        worker.answer("cssrs_suicidal_thoughts", "yes")
        worker.answer("cssrs_method", "yes")
        worker.answer("cssrs_intent", "no")
        worker.answer("cssrs_plan", "no")
        worker.answer("cssrs_behavior", "no")
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=ARTIFACTS / "contact-full-phone.png", full_page=True)
        contact = save(worker)

        assert (worker.taps, worker.typed) == (17, 1)
        assert contact.source == ContactSource.LIFELINE_988
        assert contact.call_nature.code == "suicidal"
        assert contact.on_scene_at is not None and contact.cleared_at is not None
        assert set(contact.attended_by.all()) == {alice, bob}
        assert {s.code for s in contact.services_on_scene.all()} == {
            "counselling",
            "transport",
        }
        assert contact.cssrs_performed and contact.risk_level == RiskLevel.MODERATE
        assert contact.police_backup_requested is False and contact.arrest is False


class TestOnADesktop:
    def test_the_keyboard_reaches_save_in_a_few_presses(
        self, desktop, live_server, alice, alice_worked_before
    ):
        page = desktop
        log_in(page, live_server, "alice")
        page.goto(live_server.url + reverse("casework:contact_new"))
        # The keyboard starts in the name.
        expect(page.get_by_label("Legal name")).to_be_focused()
        page.keyboard.type("Quinn Avery")
        presses = 0

        def press(key):
            nonlocal presses
            page.keyboard.press(key)
            presses += 1

        def tab_to(selector):
            for _ in range(60):
                press("Tab")
                if page.evaluate(f"document.activeElement.matches({selector!r})"):
                    return
            raise AssertionError(f"Tab never reached {selector}")

        # A choice is one stop: Tab into it, Space takes the first, arrows move along.
        tab_to("input[name=call_nature]")
        press("Space")
        tab_to("input[name=disposition]")
        press("ArrowRight")
        tab_to("button[type=submit]")
        press("Enter")
        page.wait_for_url(re.compile(r"/cases/\d+/$"))

        contact = Contact.objects.select_related("call_nature").latest("pk")
        assert contact.call_nature.code == "welfare-check"
        assert contact.disposition == Disposition.REFERRED
        print(f"\nKeyboard: {presses} presses and one typed field")
        assert presses <= 20
