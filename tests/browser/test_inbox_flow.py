"""A worker's inbox on a phone, in a real headless Chromium: the unread count beside
Inbox in the menu, and marking one read brings it down in place."""

import datetime
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from notifications import services as notifications
from notifications.models import Notification
from tests.browser.support import (
    ARTIFACTS,
    LIVE_SERVER_DB,
    fits_the_screen,
    log_in,
    open_menu_item,
)
from tests.followups.factories import due_followup, make_case

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


def test_a_worker_marks_a_notification_read_and_the_count_goes_down(phone, live_server, alice):
    page = phone
    ARTIFACTS.mkdir(exist_ok=True)
    robin = make_case(alice, legal_name="Robin Vale")
    sky = make_case(alice, legal_name="Sky Marsh")
    first = notifications.followup_overdue(
        due_followup(robin, due_in=datetime.timedelta(hours=1), reason="Check the safety plan")
    )
    second = notifications.followup_overdue(
        due_followup(sky, due_in=datetime.timedelta(hours=2), reason="Ask about the clinic")
    )

    log_in(page, live_server, "alice")
    # The menu is folded away on a phone; the count is in it all the same.
    badge = page.locator(f'#nav a.nav-link[href="{reverse("notifications:inbox")}"] .badge')
    expect(badge).to_have_text("2")
    open_menu_item(page, "Inbox 2")
    page.wait_for_url(re.compile(re.escape(reverse("notifications:inbox")) + "$"))

    items = page.locator("#inbox-list .inbox-item")
    expect(items).to_have_count(2)
    expect(page.locator("#inbox-list .unread")).to_have_count(2)
    expect(page.locator(f"#notification-{first.pk}")).to_contain_text(first.subject)
    fits_the_screen(page)
    page.screenshot(path=ARTIFACTS / "inbox-phone.png", full_page=True)

    page.locator(f"#notification-{first.pk}").get_by_role("button", name="Mark read").click()
    # The row is swapped in place, and the count in the menu follows.
    expect(page.locator(f"#notification-{first.pk}")).not_to_have_class(re.compile("unread"))
    expect(page.locator(f"#notification-{first.pk}")).to_contain_text("read")
    expect(badge).to_have_text("1")
    expect(page.locator("#inbox-list .unread")).to_have_count(1)
    assert page.url.endswith(reverse("notifications:inbox"))
    fits_the_screen(page)
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert Notification.objects.get(pk=second.pk).read_at is None

    # A fresh page agrees.
    page.reload()
    expect(badge).to_have_text("1")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#inbox-list .unread")).to_have_count(0)
    expect(badge).to_have_count(0)
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()


def test_a_notice_stops_being_new_when_its_followup_is_done(phone, live_server, alice):
    page = phone
    robin = make_case(alice, legal_name="Robin Vale")
    sky = make_case(alice, legal_name="Sky Marsh")
    done = due_followup(robin, due_in=datetime.timedelta(hours=1), reason="Check the plan")
    notice = notifications.followup_overdue(done)
    waiting = notifications.followup_overdue(
        due_followup(sky, due_in=datetime.timedelta(hours=2), reason="Ask about the clinic")
    )

    log_in(page, live_server, "alice")
    badge = page.locator(f'#nav a.nav-link[href="{reverse("notifications:inbox")}"] .badge')
    expect(badge).to_have_text("2")
    open_menu_item(page, "Today")
    page.wait_for_url(re.compile(re.escape(reverse("followups:today")) + "$"))
    page.locator(f"#fu-{done.pk}").get_by_role("button", name="Reached").click()
    expect(page.locator(f"#fu-{done.pk}")).to_contain_text("Logged: reached")
    # The count in the menu follows at once, without a reload.
    expect(badge).to_have_text("1")

    open_menu_item(page, "Inbox 1")
    page.wait_for_url(re.compile(re.escape(reverse("notifications:inbox")) + "$"))
    expect(page.locator(f"#notification-{notice.pk}")).not_to_have_class(re.compile("unread"))
    expect(page.locator(f"#notification-{waiting.pk}")).to_have_class(re.compile("unread"))
    fits_the_screen(page)
