"""The first of settings.FILE_UPLOAD_HANDLERS: a file past ATTACHMENT_MAX_MB is dropped as it
arrives, instead of being written whole to a temporary file before the form can refuse
it. The rest of the request (the label, the kind) is read as usual, and the request
remembers which input was dropped, so that the page or the API says the file was too
large, naming the limit, rather than that no file was chosen."""

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from attachments.files import max_bytes

DROPPED = "attachments_too_large"


class SizeLimitedUploadHandler(FileUploadHandler):
    """Passes each chunk on to the next handlers (memory, then a temporary file) until a
    file has sent more than the limit; then skips that file (Django closes what the next
    handlers had started) and notes its input's name on the request."""

    received = 0

    def new_file(self, field_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > max_bytes():
            request: HttpRequest | None = self.request
            if request is not None:
                dropped: set[str] = getattr(request, DROPPED, set())
                dropped.add(self.field_name)
                setattr(request, DROPPED, dropped)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        # The next handlers build the file.
        return None


def dropped_as_too_large(request: HttpRequest, field_name: str) -> bool:
    """Whether the upload handler dropped the file sent in `field_name` for its size."""
    return field_name in getattr(request, DROPPED, set())
