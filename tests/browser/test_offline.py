"""The installable app without a connection, in a real Chromium at phone size with the
network cut (Playwright's offline mode): a page read again offline, contacts recorded
offline and sent once each when the connection returns, a duplicate-client answer
resolved on the phone, and logging out with records not sent."""

import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import CaseNote, Contact
from followups.models import Attempt
from tests.browser.support import LIVE_SERVER_DB, MENU_OPEN, log_in
from tests.browser.test_htmx_flows import fill_call, maria_case, suggestion_for, type_maria_again
from tests.followups.factories import due_followup, make_case

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]

__all__ = ["maria_case"]  # a fixture, used by name

# Twenty people nobody would take for one another (the duplicate check stays quiet).
NAMES = [
    "Avery Quill",
    "Bartholomew Eze",
    "Cordelia Nakamura",
    "Dmitri Okafor",
    "Esperanza Voss",
    "Fitzgerald Amadi",
    "Giulietta Brandt",
    "Horatio Mbeki",
    "Ingrid Saldana",
    "Jasper Kowalczyk",
    "Kalinda Fairweather",
    "Leopold Nguyen",
    "Marisol Oyelaran",
    "Nathaniel Zubiri",
    "Octavia Lindqvist",
    "Percival Adeyemi",
    "Quintessa Moreau",
    "Rafferty Tanaka",
    "Seraphina Duchamp",
    "Thaddeus Yilmaz",
]

OUTBOX_ITEMS = "async (user) => (await casebookOutbox.items(user)).map((item) => item.state)"


def wait_until(page, script, arg=None, timeout=20.0):
    """Poll `script` (a function) in the page until it is true. (Playwright's
    wait_for_function evaluates a string, which the page's policy refuses.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"Still not true after {timeout} s: {script}")
        page.wait_for_timeout(100)


def worker_in_charge(page):
    """Wait until the service worker controls the page (it claims pages once active)."""
    # Installing precaches the shell's static files: slow on a busy machine.
    wait_until(
        page,
        "() => !!(navigator.serviceWorker && navigator.serviceWorker.controller)",
        timeout=60.0,
    )


def tap_log_out(page):
    """The phone's menu, once it has stopped moving, then Log out."""
    page.get_by_role("button", name="Menu").click()
    expect(page.locator("#nav")).to_have_class(MENU_OPEN)
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_visible()
    log_out.click()


def new_contact_offline(page, live_server, name):
    page.goto(live_server.url + reverse("casework:contact_new"))
    expect(page.locator("#offline-banner")).to_be_visible()
    page.get_by_label("Legal name").fill(name)
    page.get_by_label("Estimated age").fill("40")
    fill_call(page, narrative=f"Seen by the river with {name}.")
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url(re.compile(r"/offline/\?kept="))
    expect(page.locator("#outbox-kept")).to_be_visible()


def test_a_reload_while_offline_shows_the_kept_page_marked_with_its_sync_time(
    phone, live_server, alice
):
    page = phone
    case = make_case(alice, legal_name="Robin Vale")
    due_followup(case, reason="Check in after the crisis")

    log_in(page, live_server, "alice")
    worker_in_charge(page)
    page.goto(live_server.url + reverse("followups:today"))
    expect(page.locator(".followup-row", has_text="Robin Vale")).to_be_visible()
    expect(page.locator("#offline-banner")).to_have_count(0)

    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#offline-banner")).to_contain_text("Offline: shown as of")
    expect(page.locator(".followup-row", has_text="Robin Vale")).to_be_visible()

    # A page that is not kept (not the worker's own list) is not on the phone: the outbox
    # page says so.
    page.goto(live_server.url + reverse("directory:search"))
    expect(page.locator("#outbox-unreachable")).to_be_visible()
    expect(page.get_by_text("Robin Vale")).to_have_count(0)

    page.context.set_offline(False)
    page.goto(live_server.url + reverse("followups:today"))
    expect(page.locator("#offline-banner")).to_have_count(0)


def test_twenty_contacts_recorded_offline_are_each_saved_once_when_the_connection_returns(
    phone, live_server, alice
):
    page = phone
    log_in(page, live_server, "alice")
    worker_in_charge(page)
    page.goto(live_server.url + reverse("casework:contact_new"))
    expect(page.get_by_label("Legal name")).to_be_visible()

    page.context.set_offline(True)
    for name in NAMES:
        new_contact_offline(page, live_server, name)
    expect(page.locator("#outbox-status")).to_have_text("Waiting to send (20)")
    expect(page.locator("#outbox-waiting .outbox-item")).to_have_count(20)
    assert not Contact.objects.exists()

    page.context.set_offline(False)
    expect(page.locator("#outbox-status")).to_be_hidden(timeout=60_000)
    expect(page.locator("#outbox-waiting-empty")).to_be_visible()

    contacts = Contact.objects.filter(recorded_by=alice).select_related("client")
    assert sorted(c.client.legal_name for c in contacts) == sorted(NAMES)
    assert len({c.submission_id for c in contacts}) == 20
    assert page.evaluate(OUTBOX_ITEMS, str(alice.pk)) == []

    # Sending again changes nothing: each was sent with its one-time id.
    page.reload()
    expect(page.locator("#outbox-waiting-empty")).to_be_visible()
    assert Contact.objects.filter(recorded_by=alice).count() == 20


def test_a_likely_duplicate_answered_after_syncing_becomes_a_task_resolved_once(
    phone, live_server, alice, maria_case
):
    page = phone
    log_in(page, live_server, "alice")
    worker_in_charge(page)
    page.goto(live_server.url + reverse("casework:contact_new"))
    expect(page.get_by_label("Legal name")).to_be_visible()

    page.context.set_offline(True)
    page.goto(live_server.url + reverse("casework:contact_new"))
    type_maria_again(page)
    fill_call(page)
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url(re.compile(r"/offline/\?kept="))

    page.context.set_offline(False)
    task = page.locator("#outbox-attention .outbox-item")
    expect(task).to_contain_text("Crisis contact: Maria Lopes")
    expect(task).to_contain_text("may be a client the agency already knows")
    expect(page.locator("#outbox-status")).to_have_text("Needs your attention (1)")
    assert not Contact.objects.filter(recorded_by=alice).exists()

    task.get_by_role("button", name="Open").click()
    page.wait_for_url(re.compile(r"/cases/contacts/new/$"))
    # Everything typed came back, with the agency's likely match to choose.
    expect(page.get_by_label("Legal name")).to_have_value("Maria Lopes")
    suggestion = suggestion_for(page, "Maria Lopez")
    expect(suggestion).to_be_visible()
    suggestion.get_by_role("button", name="Use this client").click()
    page.get_by_role("button", name="Save contact").click()
    page.wait_for_url(re.compile(rf"/cases/{maria_case.pk}/$"))

    contacts = Contact.objects.filter(recorded_by=alice)
    assert contacts.count() == 1
    assert contacts.get().client_id == maria_case.client_id
    page.goto(live_server.url + reverse("offline_outbox"))
    expect(page.locator("#outbox-attention-section")).to_be_hidden()
    expect(page.locator("#outbox-status")).to_be_hidden()
    assert page.evaluate(OUTBOX_ITEMS, str(alice.pk)) == []


def test_logging_out_with_records_not_sent_warns_keeps_them_for_the_same_worker_only(
    phone, live_server, alice, bob
):
    page = phone
    context = page.context
    log_in(page, live_server, "alice")
    worker_in_charge(page)
    page.goto(live_server.url + reverse("casework:contact_new"))
    expect(page.get_by_label("Legal name")).to_be_visible()
    context.set_offline(True)
    new_contact_offline(page, live_server, "Winslow Achterberg")

    # The connection is back but the server cannot be reached for the outbox.
    unreachable = "**" + reverse("offline_session") + "*"
    context.route(unreachable, lambda route: route.abort())
    context.set_offline(False)
    page.goto(live_server.url + reverse("followups:today"))
    expect(page.locator("#outbox-status")).to_have_text("Waiting to send (1)")

    tap_log_out(page)
    dialog = page.locator("#outbox-logout")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("1 record has not been sent")
    dialog.get_by_role("button", name="Send now").click()
    expect(dialog).to_contain_text("The server cannot be reached")
    dialog.get_by_role("button", name="Keep them on this device and log out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))
    assert not Contact.objects.exists()
    # The worker's pages left the phone; the record did not.
    wait_until(
        page,
        "async () => !(await caches.keys()).some((name) => name.startsWith('casebook-pages-'))",
    )
    assert page.evaluate(OUTBOX_ITEMS, str(alice.pk)) == ["waiting"]

    # Someone else signing in on the phone neither sees nor sends it.
    context.unroute(unreachable)
    log_in(page, live_server, "bob")
    page.goto(live_server.url + reverse("offline_outbox"))
    expect(page.locator("#outbox-waiting-empty")).to_be_visible()
    expect(page.locator("#outbox-status")).to_be_hidden()
    expect(page.get_by_text("Winslow Achterberg")).to_have_count(0)
    assert not Contact.objects.exists()
    page.goto(live_server.url + reverse("followups:today"))
    expect(page.get_by_role("heading", name="Today", exact=True)).to_be_visible()
    tap_log_out(page)
    page.wait_for_url(re.compile(r"/accounts/login/"))

    # The same worker signing in again sends it.
    log_in(page, live_server, "alice")
    expect(page.locator("#outbox-status")).to_be_hidden(timeout=20_000)
    wait_until(
        page, "async (user) => (await casebookOutbox.items(user)).length === 0", str(alice.pk)
    )
    contact = Contact.objects.get()
    assert contact.recorded_by == alice
    assert contact.client.legal_name == "Winslow Achterberg"


def test_an_attempt_and_a_note_saved_offline_are_sent_once_with_the_time_they_were_saved(
    phone, live_server, alice
):
    page = phone
    case = make_case(alice, legal_name="Robin Vale")
    followup = due_followup(case, reason="Check in after the crisis")
    log_in(page, live_server, "alice")
    worker_in_charge(page)
    page.goto(live_server.url + reverse("casework:case_detail", args=[case.pk]))
    page.goto(live_server.url + reverse("followups:today"))
    expect(page.locator(f"#fu-{followup.pk}")).to_be_visible()

    page.context.set_offline(True)
    row = page.locator(f"#fu-{followup.pk}")
    row.get_by_role("button", name="No answer").click()
    expect(row.locator(".outbox-kept")).to_contain_text("Saved on this phone")
    row.get_by_role("button", name="Left message").click()
    expect(page.locator("#outbox-status")).to_have_text("Waiting to send (2)")

    page.goto(live_server.url + reverse("casework:case_detail", args=[case.pk]))
    expect(page.locator("#offline-banner")).to_be_visible()
    page.get_by_role("textbox", name="Note", exact=True).fill(
        "Went by the camp; tent empty, will try tomorrow."
    )
    page.get_by_role("button", name="Save note").click()
    page.wait_for_url(re.compile(r"/offline/\?kept="))
    expect(page.locator("#outbox-waiting .outbox-item")).to_have_count(3)
    expect(page.locator("#outbox-waiting")).to_contain_text("Note on Robin Vale")
    saved_before = timezone.now()
    assert not Attempt.objects.filter(followup=followup).exists()

    page.wait_for_timeout(1500)
    page.context.set_offline(False)
    expect(page.locator("#outbox-waiting-empty")).to_be_visible(timeout=30_000)
    outcomes = list(Attempt.objects.filter(followup=followup).values_list("outcome", "at"))
    assert [outcome for outcome, _ in outcomes] == ["no_answer", "left_message"]
    assert all(at < saved_before for _, at in outcomes)
    note = CaseNote.objects.get(case=case)
    assert note.text == "Went by the camp; tent empty, will try tomorrow."
    assert note.at < saved_before
