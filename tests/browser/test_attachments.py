"""A worker on a phone photographs a client's signed consent and attaches it to the case:
a wrong file first is refused with what was typed kept, then the photo is on the case
and its timeline, opens upright and without its location; another team's worker cannot
open it."""

import io
import re

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from attachments.models import Attachment, AttachmentKind
from tests.attachments.factories import sideways_photo_with_gps, use_private_storage
from tests.browser.support import (
    ARTIFACTS,
    LIVE_SERVER_DB,
    PHONE,
    SMALL_PHONE,
    fits_the_screen,
    log_in,
    serious_violations,
)

pytestmark = [pytest.mark.browser, *LIVE_SERVER_DB]


@pytest.fixture
def private_storage(monkeypatch, tmp_path):
    return use_private_storage(monkeypatch, tmp_path / "attachments")


def test_a_worker_attaches_a_photo_of_a_signed_consent_from_a_phone(
    phone, live_server, alice, erin, alice_case, private_storage, tmp_path
):
    page = phone
    page.set_viewport_size(SMALL_PHONE)
    ARTIFACTS.mkdir(exist_ok=True)
    photo = tmp_path / "IMG_0412.jpg"
    photo.write_bytes(sideways_photo_with_gps())
    not_a_pdf = tmp_path / "consent.pdf"
    not_a_pdf.write_bytes(b"Signed: Alice Client, 3 June\n")

    log_in(page, live_server, "alice")
    page.goto(live_server.url + reverse("casework:case_detail", args=[alice_case.pk]))
    section = page.locator("#attachments")
    # htmx has loaded the section into the case page.
    expect(section.get_by_text("No photos or documents yet.")).to_be_visible()
    fits_the_screen(page)

    section.get_by_label("Signed consent", exact=True).check()
    section.get_by_label("Label").fill("Signed consent")
    file_input = section.get_by_label("Photo or PDF")
    expect(file_input).to_have_attribute("accept", "image/*,application/pdf")
    attach_button = section.get_by_role("button", name="Attach")
    assert attach_button.bounding_box()["height"] >= 44

    # A file that only says it is a PDF: refused, and what was chosen and typed is kept.
    file_input.set_input_files(not_a_pdf)
    attach_button.click()
    expect(section.get_by_role("alert")).to_contain_text("Nothing was attached.")
    expect(section).to_contain_text("This file is not a photo (JPEG, PNG, WebP or GIF) or a PDF")
    expect(section.get_by_label("Label")).to_have_value("Signed consent")
    expect(section.get_by_label("Signed consent", exact=True)).to_be_checked()
    assert not Attachment.objects.exists()

    # The photo.
    section.get_by_label("Photo or PDF").set_input_files(photo)
    section.get_by_role("button", name="Attach").click()
    expect(section.get_by_role("status")).to_contain_text("Attached: Signed consent.")
    item = section.locator(".attachment", has_text="Signed consent")
    thumbnail = item.get_by_role("img", name="Photo: Signed consent")
    expect(thumbnail).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    fits_the_screen(page)
    assert serious_violations(page) == []
    page.screenshot(path=ARTIFACTS / "attachment-on-case-phone.png", full_page=True)

    attachment = Attachment.objects.get()
    assert (attachment.case, attachment.kind, attachment.uploaded_by) == (
        alice_case,
        AttachmentKind.SIGNED_CONSENT,
        alice,
    )
    with attachment.file.open("rb") as stored:
        kept = Image.open(io.BytesIO(stored.read()))
    assert dict(kept.getexif()) == {}

    # On the case timeline when the page is read again.
    page.reload()
    expect(page.locator(".timeline")).to_contain_text("Signed consent attached: Signed consent")

    # The photo opens, upright: stored 60 wide by 40 high, shown 40 by 60.
    file_url = reverse("attachments:file", args=[attachment.pk])
    page.locator("#attachments").get_by_role("link", name="Signed consent", exact=True).click()
    page.wait_for_url(re.compile(re.escape(file_url) + "$"))
    image = page.locator("img")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [40, 60]

    # Another team's worker finds nothing there.
    other = page.context.browser.new_context(**PHONE)
    try:
        erins = other.new_page()
        log_in(erins, live_server, "erin")
        response = erins.goto(live_server.url + file_url)
        assert response.status == 404
        thumb = erins.goto(live_server.url + file_url + "?thumb=1")
        assert thumb.status == 404
    finally:
        other.close()
