import io
import json
import shutil
import zipfile

import pytest
from django.core.management import CommandError, call_command

from directory.models import Organization, Service
from tests.directory.hsds_packages import (
    EXAMPLE,
    ORG,
    ORG_2,
    directory_snapshot,
    empty_directory,
    organization,
    read_folder,
    service,
    write_package,
)

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(*args, stdout=out, stderr=err)
    return failure.value, out.getvalue(), err.getvalue()


class TestImportCommand:
    def test_it_prints_counts_per_table(self):
        out, err = run("import_hsds", str(EXAMPLE))

        assert "organization: 1 created, 0 updated, 0 unchanged" in out
        assert "taxonomy_term: 1 created, 0 updated, 0 unchanged" in out
        assert "Imported into the shared directory." in out
        assert err == ""

    def test_reimporting_reports_nothing_created_or_updated(self):
        run("import_hsds", str(EXAMPLE))

        out, _ = run("import_hsds", str(EXAMPLE))

        assert " created" in out
        assert "1 created" not in out
        assert "1 updated" not in out
        assert "service: 0 created, 0 updated, 1 unchanged" in out

    def test_a_zip_is_imported_like_a_folder(self, tmp_path):
        archive = tmp_path / "example.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for path in EXAMPLE.iterdir():
                z.write(path, f"example/{path.name}")

        out, _ = run("import_hsds", str(archive))

        assert "service: 1 created" in out

    def test_a_package_with_errors_changes_nothing_and_exits_1(self, tmp_path):
        write_package(
            tmp_path,
            {
                "organization": [organization(), organization(id=ORG_2, email="x")],
                "service": [service(status="open")],
            },
        )
        before = directory_snapshot()

        error, out, err = run_failing("import_hsds", str(tmp_path))

        assert error.returncode == 1
        assert "nothing was changed" in str(error)
        assert f"organizations.csv:3 id {ORG_2} email: 'x' is not an email address" in err
        assert "services.csv:2" in err and "status" in err
        assert directory_snapshot() == before

    def test_load_valid_loads_the_valid_rows_and_still_reports(self, tmp_path):
        write_package(
            tmp_path, {"organization": [organization(), organization(id=ORG_2, email="x")]}
        )

        error, out, err = run_failing("import_hsds", str(tmp_path), "--load-valid")

        assert error.returncode == 1
        assert "organization: 1 created" in out
        assert "organizations.csv:3" in err
        assert [str(pk) for pk in Organization.objects.values_list("pk", flat=True)] == [ORG]

    def test_dry_run_changes_nothing(self, tmp_path):
        write_package(tmp_path, {"organization": [organization()]})

        out, _ = run("import_hsds", str(tmp_path), "--dry-run")

        assert "organization: 1 created" in out
        assert "Dry run" in out
        assert not Organization.objects.exists()

    def test_agency_loads_into_that_agencys_directory(self, tmp_path, agency_a, carol):
        write_package(tmp_path, {"organization": [organization()], "service": [service()]})

        out, _ = run("import_hsds", str(tmp_path), "--agency", agency_a.slug)

        assert "Imported into agency agency-a." in out
        assert Service.objects.get().agency == agency_a
        assert not Organization.objects.visible_to(carol).exists()

    @pytest.mark.parametrize(
        ("setup", "message"),
        [
            (lambda p: p / "nowhere", "no such file or folder"),
            (
                lambda p: _write(p / "bad.zip", b"this is not a zip"),
                "not a folder or a readable zip",
            ),
            (lambda p: _mkdir(p / "empty"), "datapackage.json is missing"),
            (
                lambda p: _copy_with(p, b"../../datapackage.json"),
                "datapackage.json is not valid JSON",
            ),
            (lambda p: _copy_with(p, b"{}"), "datapackage.json has no list of resources"),
        ],
    )
    def test_an_unreadable_package_is_a_one_line_error(self, tmp_path, setup, message):
        path = setup(tmp_path)

        error, _, _ = run_failing("import_hsds", str(path))

        assert message in str(error)
        assert "\n" not in str(error)
        assert not Organization.objects.exists()

    def test_an_unknown_agency_is_a_one_line_error(self):
        error, _, _ = run_failing("import_hsds", str(EXAMPLE), "--agency", "nope")

        assert str(error) == "No agency with the slug 'nope'."
        assert not Organization.objects.exists()

    def test_a_truncated_zip_changes_nothing(self, tmp_path):
        archive = tmp_path / "example.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for path in EXAMPLE.iterdir():
                z.write(path, path.name)
        archive.write_bytes(archive.read_bytes()[:300])

        error, _, _ = run_failing("import_hsds", str(archive))

        assert "\n" not in str(error)
        assert not Organization.objects.exists()

    @pytest.mark.parametrize("member", ["../organizations.csv", "/abs/organizations.csv"])
    def test_a_path_leading_out_of_the_package_is_refused(self, tmp_path, member):
        # Zip-slip: a resource path with ".." or an absolute one names no file of the
        # package, even when the zip holds a member of that name.
        write_package(tmp_path / "pkg", {"organization": [organization()]})
        descriptor = json.loads((tmp_path / "pkg" / "datapackage.json").read_text())
        descriptor["resources"][0]["path"] = member
        archive = tmp_path / "evil.zip"
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("datapackage.json", json.dumps(descriptor))
            z.writestr(member, (tmp_path / "pkg" / "organizations.csv").read_text())

        error, _, err = run_failing("import_hsds", str(archive))

        assert f"{member}: the path leads outside the package" in err
        assert not Organization.objects.exists()
        # A folder package the same.
        (tmp_path / "pkg" / "datapackage.json").write_text(json.dumps(descriptor))
        _, _, err = run_failing("import_hsds", str(tmp_path / "pkg"))
        assert "leads outside the package" in err
        assert not Organization.objects.exists()


class TestExportCommand:
    def test_export_import_export_round_trip(self, tmp_path):
        run("import_hsds", str(EXAMPLE))
        out, _ = run("export_hsds", str(tmp_path / "first"))
        empty_directory()

        run("import_hsds", str(tmp_path / "first"))
        run("export_hsds", str(tmp_path / "second"))

        assert "service: 1 rows" in out
        assert read_folder(tmp_path / "first") == read_folder(tmp_path / "second")

    def test_zip_export_is_byte_identical_twice(self, tmp_path):
        run("import_hsds", str(EXAMPLE))

        run("export_hsds", str(tmp_path / "a.zip"), "--zip")
        run("export_hsds", str(tmp_path / "b.zip"), "--zip")

        assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
        out, _ = run("import_hsds", str(tmp_path / "a.zip"))
        assert "1 created" not in out and "1 updated" not in out

    def test_an_agency_export(self, tmp_path, agency_a):
        write_package(tmp_path / "in", {"organization": [organization()]})
        run("import_hsds", str(tmp_path / "in"), "--agency", "agency-a")

        run("export_hsds", str(tmp_path / "out"), "--agency", "agency-a")

        assert ORG in (tmp_path / "out" / "organizations.csv").read_text()

    def test_an_unknown_agency_is_refused(self, tmp_path):
        error, _, _ = run_failing("export_hsds", str(tmp_path), "--agency", "nope")
        assert "No agency" in str(error)


def _write(path, content):
    path.write_bytes(content)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def _copy_with(tmp_path, descriptor):
    target = tmp_path / "package"
    shutil.copytree(EXAMPLE, target)
    (target / "datapackage.json").write_bytes(descriptor)
    return target
