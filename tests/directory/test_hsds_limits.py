"""What an HSDS package may hold once uncompressed: a zip bomb, too many files or too many
rows is refused with a one-line PackageError naming the limit, before it fills memory."""

import tracemalloc
import zipfile

import pytest

from directory.hsds import PackageError, import_package, tables
from directory.models import Organization
from tests.directory.hsds_packages import organization, write_package
from tests.directory.test_hsds_command import run_failing

pytestmark = pytest.mark.django_db
MB = 1024 * 1024
ORGANIZATIONS = tables()["organization"].path
SERVICES = tables()["service"].path


def descriptor_for(tmp_path, *names):
    rows = {"organization": [organization()], "service": []}
    folder = write_package(tmp_path / "pkg", {name: rows[name] for name in names})
    return (folder / "datapackage.json").read_text()


def zip_with(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


class TestZipBomb:
    def test_a_small_zip_of_a_large_run_of_zeros_is_refused_quickly_without_the_memory(
        self, tmp_path
    ):
        zeros = b"id,name\n" + bytes(60 * MB)
        archive = zip_with(
            tmp_path / "bomb.zip",
            {"datapackage.json": descriptor_for(tmp_path, "organization"), ORGANIZATIONS: zeros},
        )
        del zeros
        assert archive.stat().st_size < 200 * 1024

        tracemalloc.start()
        try:
            with pytest.raises(PackageError) as refused:
                import_package(archive)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert str(refused.value) == (
            f"{ORGANIZATIONS}: larger than 50 MB uncompressed "
            "(the limit per file, HSDS_MAX_FILE_BYTES)"
        )
        # Refused from the declared size: nothing near the 60 MB was decompressed.
        assert peak < 5 * MB
        assert not Organization.objects.exists()

    def test_members_under_the_file_limit_are_refused_past_the_total(self, tmp_path, settings):
        settings.HSDS_MAX_FILE_BYTES = 1 * MB
        settings.HSDS_MAX_TOTAL_BYTES = int(1.5 * MB)
        padding = b"id,name\n" + b"0" * (900 * 1024)
        archive = zip_with(
            tmp_path / "wide.zip",
            {
                "datapackage.json": descriptor_for(tmp_path, "organization", "service"),
                ORGANIZATIONS: padding,
                SERVICES: padding,
            },
        )
        with pytest.raises(PackageError, match=r"larger than 1\.5 MB .*HSDS_MAX_TOTAL_BYTES"):
            import_package(archive)

    def test_a_folder_package_has_the_same_limits(self, tmp_path, settings):
        settings.HSDS_MAX_FILE_BYTES = 1 * MB
        folder = write_package(tmp_path / "pkg", {"organization": [organization()]})
        (folder / ORGANIZATIONS).write_bytes(b"id,name\n" + bytes(2 * MB))
        with pytest.raises(PackageError, match="HSDS_MAX_FILE_BYTES"):
            import_package(folder)


class TestMembersAndRows:
    def test_too_many_members_are_refused_before_any_is_read(self, tmp_path, settings):
        settings.HSDS_MAX_MEMBERS = 3
        members = {"datapackage.json": descriptor_for(tmp_path, "organization")}
        members |= {f"extra-{n}.csv": b"id\n" for n in range(4)}
        archive = zip_with(tmp_path / "many.zip", members)

        with pytest.raises(PackageError) as refused:
            import_package(archive)
        assert "5 files in the zip, more than 3 (the limit, HSDS_MAX_MEMBERS)" in str(refused.value)

    def test_too_many_rows_in_a_table_are_refused_and_nothing_changes(self, tmp_path, settings):
        settings.HSDS_MAX_ROWS_PER_TABLE = 3
        ids = [f"11111111-1111-4111-8111-11111111111{n}" for n in range(4)]
        folder = write_package(tmp_path, {"organization": [organization(id=i) for i in ids]})

        error, _, _ = run_failing("import_hsds", str(folder))

        assert str(error) == (
            f"Cannot read the package: {ORGANIZATIONS}: more than 3 rows "
            "(the limit per table, HSDS_MAX_ROWS_PER_TABLE)"
        )
        assert not Organization.objects.exists()

    def test_as_many_rows_as_the_limit_are_loaded(self, tmp_path, settings):
        settings.HSDS_MAX_ROWS_PER_TABLE = 3
        ids = [f"11111111-1111-4111-8111-11111111111{n}" for n in range(3)]
        folder = write_package(tmp_path, {"organization": [organization(id=i) for i in ids]})
        assert import_package(folder).loaded
        assert Organization.objects.count() == 3
