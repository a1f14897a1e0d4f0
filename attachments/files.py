"""What may be attached, judged by the content, never by the file's name nor the type the
browser claims: a photo (JPEG, PNG, WebP or GIF) or a PDF, up to ATTACHMENT_MAX_MB.

A photo is decoded and encoded again with Pillow: turned upright as its EXIF orientation
says, converted to sRGB, scaled down past MAX_SIDE, and saved without any metadata (no
EXIF, so no GPS position, no XMP, no comment, no colour profile): JPEG, or PNG when it has
transparency. Only the first frame of an animated GIF or WebP is kept. A PDF is kept as it
was sent (re-writing it could change a signed document) and is only ever downloaded.
"""

import hashlib
import io
import unicodedata
from dataclasses import dataclass
from typing import IO, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from attachments.exceptions import AttachmentRefused

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
PDF_MAGIC = b"%PDF-"
# A photo of a page reads well long before this many pixels a side; larger ones are
# scaled down to it (a phone's 12-megapixel photo is 4032 wide).
MAX_SIDE = 4096
# The most pixels an image's header may announce before it is decoded: a small file can
# claim a huge canvas and take the server's memory (a decompression bomb). 50 million is
# a 200-megapixel phone's full-resolution mode, halved.
MAX_PIXELS = 50_000_000
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 85
NAME_MAX = 200


@dataclass(frozen=True)
class Prepared:
    """What is stored for an upload: its bytes as kept, their type and digest, and the
    uploaded name cleaned for display."""

    content: bytes
    content_type: str
    sha256: str
    original_name: str


def max_bytes() -> int:
    return int(settings.ATTACHMENT_MAX_MB) * 1024 * 1024


def too_large_message() -> str:
    return _(
        "The file is larger than %(limit)s MB, the most that can be attached. Send a smaller "
        "photo (a lower resolution in the camera's settings) or a smaller PDF."
    ) % {"limit": settings.ATTACHMENT_MAX_MB}


def not_accepted_message() -> str:
    return _(
        "This file is not a photo (JPEG, PNG, WebP or GIF) or a PDF, whatever its name says. "
        "Attach a photo or a PDF."
    )


def prepare(upload: UploadedFile) -> Prepared:
    """The upload checked and made ready to store; AttachmentRefused (on the "file" input)
    saying what is accepted when it is too large, empty, or neither a photo nor a PDF."""
    size = upload.size or 0
    if size > max_bytes():
        raise AttachmentRefused(too_large_message(), field="file")
    if size == 0:
        raise AttachmentRefused(
            _("The file is empty. Choose the photo or PDF again."), field="file"
        )
    upload.seek(0)
    head = upload.read(len(PDF_MAGIC))
    upload.seek(0)
    if head == PDF_MAGIC:
        content, content_type = b"".join(upload.chunks()), "application/pdf"
    else:
        content, content_type = reencoded_image(upload)
    return Prepared(
        content=content,
        content_type=content_type,
        sha256=hashlib.sha256(content).hexdigest(),
        original_name=clean_name(upload.name),
    )


def reencoded_image(source: IO[bytes]) -> tuple[bytes, str]:
    """The image in `source` encoded again without metadata, and its type."""
    try:
        with Image.open(source, formats=IMAGE_FORMATS) as probe:
            _refuse_too_many_pixels(*probe.size)
            probe.verify()
        source.seek(0)
        with Image.open(source, formats=IMAGE_FORMATS) as image:
            image.load()
            return _encoded(image)
    except Image.DecompressionBombError as exc:
        raise AttachmentRefused(_too_many_pixels_message(), field="file") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        # Not an image of an accepted format, or a damaged one (Pillow's decoders raise
        # these on truncated or malformed data).
        raise AttachmentRefused(not_accepted_message(), field="file") from exc


def _too_many_pixels_message() -> str:
    return _(
        "The image is too large to open (more than %(megapixels)s megapixels). Send a photo "
        "at a lower resolution."
    ) % {"megapixels": MAX_PIXELS // 1_000_000}


def _refuse_too_many_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise AttachmentRefused(_too_many_pixels_message(), field="file")


def _encoded(image: Image.Image) -> tuple[bytes, str]:
    upright = ImageOps.exif_transpose(image) or image
    transparent = _has_transparency(upright)
    clean = _in_srgb(upright, transparent).convert("RGBA" if transparent else "RGB")
    if max(clean.size) > MAX_SIDE:
        clean.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # Nothing of the original's metadata goes along: Pillow writes what `info` holds (a
    # PNG's colour profile, text chunks) unless told otherwise.
    clean.info = {}
    out = io.BytesIO()
    if transparent:
        clean.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue(), "image/jpeg"


def _has_transparency(image: Image.Image) -> bool:
    """Whether any pixel is not fully opaque (a PNG saved with an alpha channel that is
    opaque everywhere is a photo like any other)."""
    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return False
    extrema = cast(tuple[int, int], image.convert("RGBA").getchannel("A").getextrema())
    return extrema[0] < 255


def _in_srgb(image: Image.Image, transparent: bool) -> Image.Image:
    """The image's colours in sRGB when it carries a colour profile (a phone's Display P3
    photo), so that dropping the profile does not change how it looks; as it is when the
    profile cannot be read or applied."""
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        converted = ImageCms.profileToProfile(
            image,
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            ImageCms.createProfile("sRGB"),
            outputMode="RGBA" if transparent else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image
    return converted or image


def clean_name(name: str | None) -> str:
    """The uploaded file's own name, for display as text only: its last path part, without
    control or formatting characters (a right-to-left override can disguise `gpj.exe` as
    `exe.jpg`), spaces collapsed, at most NAME_MAX characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    return " ".join(base.split())[:NAME_MAX]


def thumbnail(stored: IO[bytes], content_type: str) -> bytes:
    """A small copy of a stored image (one this module encoded: JPEG or PNG), at most
    THUMBNAIL_SIDE a side, in the same format."""
    with Image.open(stored, formats=("JPEG", "PNG")) as image:
        image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        image.info = {}
        out = io.BytesIO()
        image.save(out, "PNG" if content_type == "image/png" else "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()
