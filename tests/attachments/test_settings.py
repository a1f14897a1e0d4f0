"""Where attachments are kept, as a deployment starts the settings: in a fresh process."""

import json

import pytest

from tests.test_settings import manage, prod_env

pytestmark = pytest.mark.integration

SHOW_STORAGE = (
    "import json; from django.conf import settings as s; "
    "from django.core.files.storage import storages; st = storages['attachments']; "
    "print(json.dumps({'backend': type(st).__name__, 'options': s.STORAGES['attachments']"
    ".get('OPTIONS', {}), 'max_mb': s.ATTACHMENT_MAX_MB, "
    "'handlers': s.FILE_UPLOAD_HANDLERS[0]}))"
)


def storage_in(**env):
    result = manage("shell", "-c", SHOW_STORAGE, **prod_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


class TestWhereAttachmentsAreKept:
    def test_a_private_folder_by_default(self, tmp_path):
        shown = storage_in(ATTACHMENTS_DIR=str(tmp_path / "files"))

        assert shown["backend"] == "FileSystemStorage"
        assert shown["options"] == {
            "location": str(tmp_path / "files"),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        }
        assert shown["max_mb"] == 15
        assert shown["handlers"] == "attachments.uploads.SizeLimitedUploadHandler"

    def test_a_private_s3_compatible_bucket_when_one_is_named(self):
        shown = storage_in(
            ATTACHMENTS_S3_BUCKET="casebook-files",
            ATTACHMENTS_S3_ENDPOINT_URL="https://storage.example.org",
            ATTACHMENTS_S3_REGION="us-west-2",
            ATTACHMENTS_S3_ACCESS_KEY_ID="AKIAEXAMPLE",
            ATTACHMENTS_S3_SECRET_ACCESS_KEY="not-a-real-secret",  # noqa: S106
            ATTACHMENT_MAX_MB="20",
        )

        assert shown["backend"] == "S3Storage"
        options = shown["options"]
        assert options["bucket_name"] == "casebook-files"
        assert options["endpoint_url"] == "https://storage.example.org"
        assert options["region_name"] == "us-west-2"
        assert options["default_acl"] == "private"
        assert options["file_overwrite"] is False
        assert shown["max_mb"] == 20

    @pytest.mark.parametrize(
        "env, message",
        [
            ({"ATTACHMENT_MAX_MB": "0"}, "ATTACHMENT_MAX_MB must be between 1 and 100"),
            ({"ATTACHMENT_MAX_MB": "lots"}, "ATTACHMENT_MAX_MB must be an integer"),
            (
                {"ATTACHMENTS_S3_BUCKET": "b", "ATTACHMENTS_S3_ENDPOINT_URL": "storage:9000"},
                "ATTACHMENTS_S3_ENDPOINT_URL must start with https://",
            ),
        ],
    )
    def test_a_bad_value_stops_the_start(self, env, message):
        result = manage("check", **prod_env(**env))

        assert result.returncode != 0
        assert message in result.stderr
