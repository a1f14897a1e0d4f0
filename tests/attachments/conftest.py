import pytest

from tests.attachments.factories import use_private_storage


@pytest.fixture(autouse=True)
def private_storage(monkeypatch, tmp_path):
    """Each test's files in a folder of its own."""
    return use_private_storage(monkeypatch, tmp_path / "attachments")
