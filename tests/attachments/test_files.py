"""What may be attached is judged by the content, never by the name: photos are encoded
again without metadata (no GPS), turned upright, PNG kept for transparency; PDFs kept as
sent; anything else refused with a message naming what is accepted."""

import io

import pytest
from PIL import Image

from attachments import files
from attachments.exceptions import AttachmentRefused
from attachments.models import Attachment
from tests.attachments.factories import (
    BLUE,
    PDF,
    RED,
    attach,
    image_bytes,
    sideways_photo_with_gps,
    upload,
)

pytestmark = pytest.mark.django_db


def stored_image(attachment):
    with attachment.file.open("rb") as stored:
        image = Image.open(io.BytesIO(stored.read()))
        image.load()
    return image


def close_to(pixel, color, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=False))


class TestTypeByContent:
    def test_a_pdf_named_jpg_is_kept_as_a_pdf(self, alice, alice_case):
        attachment = attach(alice, case=alice_case, content=PDF, name="scan.jpg")

        assert attachment.content_type == "application/pdf"
        assert attachment.file.name.endswith(".pdf")
        with attachment.file.open("rb") as stored:
            assert stored.read() == PDF  # as sent, byte for byte

    def test_a_pdf_named_png_is_a_pdf(self, alice, alice_case):
        attachment = attach(alice, case=alice_case, content=PDF, name="photo.png")

        assert attachment.content_type == "application/pdf"
        assert not attachment.is_image

    @pytest.mark.parametrize(
        "content, name",
        [
            (b"Discharge summary: seen and released.\n", "discharge.pdf"),
            (b"<html><script>alert(1)</script></html>", "photo.jpg"),
            (b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>', "id.png"),
            (b"MZ\x90\x00" + b"\x00" * 100, "consent.pdf"),
            (image_bytes("BMP"), "scan.jpg"),
            (image_bytes()[:200], "cut-short.jpg"),
        ],
        ids=["text named pdf", "html named jpg", "svg", "executable", "bmp", "truncated jpeg"],
    )
    def test_anything_else_is_refused_naming_what_is_accepted(
        self, alice, alice_case, content, name
    ):
        with pytest.raises(AttachmentRefused) as refused:
            attach(alice, case=alice_case, content=content, name=name)

        assert refused.value.field == "file"
        assert "JPEG, PNG, WebP or GIF" in str(refused.value)
        assert "PDF" in str(refused.value)
        assert not Attachment.objects.exists()

    def test_the_name_is_kept_cleaned_as_text_and_never_in_the_path(self, alice, alice_case):
        name = "C:\\Users\\ana\\Desktop\\Jordan Rivers\u202egpj.exe"

        attachment = attach(alice, case=alice_case, name=name)

        assert attachment.original_name == "Jordan Riversgpj.exe"
        assert "Jordan" not in attachment.file.name and "Rivers" not in attachment.file.name
        folder, stored = attachment.file.name.split("/")
        assert len(folder) == 2 and stored.endswith(".jpg") and len(stored) == 36


class TestPhotos:
    def test_a_photo_comes_out_upright_with_no_exif_at_all(self, alice, alice_case):
        original = Image.open(io.BytesIO(sideways_photo_with_gps()))
        assert original.getexif().get_ifd(0x8825)  # the test photo does carry a position

        attachment = attach(alice, case=alice_case, content=sideways_photo_with_gps())

        image = stored_image(attachment)
        assert image.format == "JPEG"
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info and "comment" not in image.info
        assert "icc_profile" not in image.info and "xmp" not in image.info
        # Turned 90° clockwise: 40 wide, 60 high, what was on the left now on top.
        assert image.size == (40, 60)
        assert close_to(image.getpixel((20, 5)), RED)
        assert close_to(image.getpixel((20, 55)), BLUE)

    def test_a_png_with_transparency_stays_png_with_its_alpha(self, alice, alice_case):
        out = io.BytesIO()
        image = Image.new("RGBA", (30, 30), (0, 128, 0, 255))
        image.paste((0, 0, 0, 0), (0, 0, 15, 30))
        image.save(out, "PNG")

        attachment = attach(alice, case=alice_case, content=out.getvalue(), name="stamp.png")

        assert attachment.content_type == "image/png"
        stored = stored_image(attachment)
        assert stored.format == "PNG" and stored.mode == "RGBA"
        assert stored.getpixel((2, 2))[3] == 0
        assert stored.getpixel((25, 2))[3] == 255

    @pytest.mark.parametrize(
        "content, name",
        [
            (image_bytes("PNG", mode="RGBA", color=(10, 20, 30, 255)), "opaque.png"),
            (image_bytes("WEBP"), "photo.webp"),
            (image_bytes("GIF", mode="P", color=3), "photo.gif"),
        ],
        ids=["opaque png", "webp", "gif"],
    )
    def test_other_photos_become_jpeg(self, alice, alice_case, content, name):
        attachment = attach(alice, case=alice_case, content=content, name=name)

        assert attachment.content_type == "image/jpeg"
        assert stored_image(attachment).format == "JPEG"

    def test_an_animated_gif_keeps_its_first_frame(self, alice, alice_case):
        frames = [Image.new("RGB", (20, 20), RED), Image.new("RGB", (20, 20), BLUE)]
        out = io.BytesIO()
        frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)

        attachment = attach(alice, case=alice_case, content=out.getvalue(), name="a.gif")

        assert close_to(stored_image(attachment).getpixel((10, 10)), RED)

    def test_a_large_photo_is_scaled_down(self, alice, alice_case):
        content = image_bytes(size=(files.MAX_SIDE * 2, 100), quality=50)

        attachment = attach(alice, case=alice_case, content=content)

        assert stored_image(attachment).size == (files.MAX_SIDE, 50)

    def test_the_digest_and_size_are_the_stored_bytes(self, alice, alice_case):
        import hashlib

        attachment = attach(alice, case=alice_case)

        with attachment.file.open("rb") as stored:
            data = stored.read()
        assert attachment.size == len(data)
        assert attachment.sha256 == hashlib.sha256(data).hexdigest()


class TestLimits:
    def test_a_decompression_bomb_is_refused_before_it_is_decoded(self, alice, alice_case):
        # 400 million pixels in a few kilobytes of PNG.
        bomb = image_bytes("PNG", size=(20_000, 20_000), mode="1", color=0)
        assert len(bomb) < 1_000_000

        with pytest.raises(AttachmentRefused) as refused:
            attach(alice, case=alice_case, content=bomb, name="bomb.png")

        assert "megapixels" in str(refused.value)

    def test_an_image_past_our_own_pixel_limit_is_refused(self, alice, alice_case):
        # Under Pillow's own limit, over ours.
        content = image_bytes("PNG", size=(8_000, 7_000), mode="1", color=1)

        with pytest.raises(AttachmentRefused) as refused:
            attach(alice, case=alice_case, content=content, name="huge.png")

        assert "more than 50 megapixels" in str(refused.value)

    def test_a_file_past_the_size_limit_is_refused_naming_the_limit(
        self, alice, alice_case, settings
    ):
        settings.ATTACHMENT_MAX_MB = 1
        content = PDF + b"0" * (1024 * 1024)

        with pytest.raises(AttachmentRefused) as refused:
            attach(alice, case=alice_case, content=content, name="big.pdf")

        assert "larger than 1 MB" in str(refused.value)
        assert refused.value.field == "file"

    def test_an_empty_file_is_refused(self):
        with pytest.raises(AttachmentRefused):
            files.prepare(upload(b"", name="empty.jpg"))
