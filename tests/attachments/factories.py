"""Attachments made through the real service (attachments.services.attach_file), and the
files tests attach: photos made with Pillow at test time, a PDF, and things that are
neither."""

import io

from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from attachments import services
from attachments.models import Attachment, AttachmentKind

RED = (220, 20, 20)
BLUE = (20, 20, 220)
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def use_private_storage(monkeypatch, folder):
    """Attachments' files in `folder` for the test (settings/test.py keeps them in memory):
    a real FileSystemStorage, as the embedded default has."""
    storage = FileSystemStorage(
        location=str(folder), file_permissions_mode=0o600, directory_permissions_mode=0o700
    )
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", storage)
    return storage


def image_bytes(fmt="JPEG", size=(64, 48), color=RED, mode="RGB", **save):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def sideways_photo_with_gps():
    """A JPEG as a phone held sideways takes it: stored 60 wide and 40 high, red on the
    left and blue on the right, with EXIF orientation 6 (turn it 90° clockwise to show it)
    and a GPS position (44°3'N 123°5'W, Eugene), a camera model and a comment."""
    image = Image.new("RGB", (60, 40), RED)
    image.paste(BLUE, (30, 0, 60, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Model] = "Phone 15"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (44.0, 3.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (123.0, 5.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95, comment=b"taken at the client's address")
    return out.getvalue()


def upload(content, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def attach(
    worker,
    *,
    case=None,
    client=None,
    kind=AttachmentKind.SIGNED_CONSENT,
    label="Signed consent",
    content=None,
    name="consent.jpg",
    **where,
):
    """An attachment `worker` adds through attach_file: a small red JPEG unless told
    otherwise, on `case` (its client's), or on `client` alone."""
    return services.attach_file(
        actor=worker,
        client=client or case.client,
        case=case,
        kind=kind,
        label=label,
        upload=upload(content if content is not None else image_bytes(), name=name),
        **where,
    )
