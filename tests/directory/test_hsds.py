import datetime
import importlib
import json
import re
import uuid
import zipfile

import pytest

from audit.models import Action, AuditEvent
from directory.hsds import (
    datapackage,
    export_package,
    import_package,
    package_files,
    tables,
)
from directory.models import (
    Attribute,
    HsdsRecord,
    Location,
    NeedCategory,
    Organization,
    Service,
    TaxonomyTerm,
)
from directory.needs import (
    NEED_TERM_IDS,
    NEEDS_TAXONOMY_ID,
    NEEDS_TAXONOMY_NAME,
    guess_need_category,
)
from tests.directory.factories import OrganizationFactory, ServiceFactory, TaxonomyTermFactory
from tests.directory.hsds_packages import (
    EXAMPLE,
    ORG,
    ORG_2,
    RAW_EXAMPLE,
    SERVICE,
    SERVICE_2,
    directory_snapshot,
    empty_directory,
    organization,
    read_folder,
    service,
    write_package,
)

pytestmark = pytest.mark.django_db

EXAMPLE_ORG = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
EXAMPLE_SERVICE = "ac148810-d857-441c-9679-408f346de14b"


def errors_of(report):
    return [(p.file, p.line, p.row_id, p.field) for p in report.errors]


class TestTheSpecificationsOwnExample:
    def test_the_raw_example_reports_exactly_its_dangling_references(self):
        before = directory_snapshot()
        report = import_package(RAW_EXAMPLE)

        dangling = [
            (p.file, p.field, re.search(r"[0-9a-f-]{36}", p.reason).group())
            for p in report.errors
            if "neither in the package nor in the directory" in p.reason
        ]
        assert sorted(dangling) == sorted(
            [
                (
                    "organizations.csv",
                    "parent_organization_id",
                    "cd09a387-91f4-4555-94ec-e799c35344cd",
                ),
                ("locations.csv", "organization_id", "985e4a42-bd9f-4edc-911d-0243a4640aca"),
                ("contacts.csv", "organization_id", "ae67a707-5893-4225-b0b1-320ab9cb596b"),
                ("contacts.csv", "service_at_location_id", "93eaf18d-1cd2-4ec7-bffb-3c9172ee5070"),
                ("attributes.csv", "link_id", "f28dd44b-0c4d-479f-8e90-4c52219a8b3c"),
                ("taxonomy_terms.csv", "parent_id", "0bc248fa-dc27-4650-9ba4-8f1a24ef16a2"),
                ("taxonomy_terms.csv", "taxonomy_id", "07ff6aee-a219-438c-b694-d2fcb6c5373b"),
                ("metadata.csv", "resource_id", "38960354-e7d2-4cfa-a368-820f729d6ccf"),
            ]
        )
        # Everything else is rejected only because it hangs off a rejected row.
        others = [p for p in report.errors if "neither" not in p.reason]
        assert others and all("which is rejected" in p.reason for p in others)
        assert not report.loaded
        assert directory_snapshot() == before

    def test_the_repaired_example_loads_every_row(self):
        report = import_package(EXAMPLE)

        assert report.errors == []
        assert report.rejected == 0
        assert set(report.counts) == set(tables())
        assert all(
            c == {"created": 1, "updated": 0, "unchanged": 0} for c in report.counts.values()
        )
        service_ = Service.objects.get(pk=EXAMPLE_SERVICE)
        assert service_.organization_id == uuid.UUID(EXAMPLE_ORG)
        assert service_.agency_id is None
        assert service_.minimum_age == 12
        assert service_.last_modified == datetime.datetime(
            2023, 3, 15, 10, 30, 45, 123000, tzinfo=datetime.UTC
        )
        assert Location.objects.get().organization_id == uuid.UUID(EXAMPLE_ORG)
        assert Attribute.objects.get().link_id == uuid.UUID(EXAMPLE_SERVICE)
        assert HsdsRecord.objects.filter(table="program").get().data["name"] == (
            "Community Mental Health Support"
        )
        assert HsdsRecord.objects.count() == 8

    def test_reimporting_changes_nothing(self):
        import_package(EXAMPLE)
        before = directory_snapshot()

        report = import_package(EXAMPLE)

        assert all(c["created"] == 0 and c["updated"] == 0 for c in report.counts.values())
        assert all(c["unchanged"] == 1 for c in report.counts.values())
        assert directory_snapshot() == before

    def test_export_then_import_into_an_empty_directory_then_export_gives_the_same_files(
        self, tmp_path
    ):
        import_package(EXAMPLE)
        export_package(tmp_path / "first")
        empty_directory()

        report = import_package(tmp_path / "first")
        export_package(tmp_path / "second")

        assert report.errors == []
        assert read_folder(tmp_path / "first") == read_folder(tmp_path / "second")

    def test_the_export_gives_back_the_examples_own_cells(self, tmp_path):
        import_package(EXAMPLE)
        export_package(tmp_path / "out")

        for name in ["organizations.csv", "services.csv", "schedules.csv", "phones.csv"]:
            assert (tmp_path / "out" / name).read_bytes() == (EXAMPLE / name).read_bytes()


class TestExport:
    def test_exporting_twice_gives_identical_bytes(self, tmp_path):
        import_package(EXAMPLE)
        export_package(tmp_path / "a")
        export_package(tmp_path / "b")
        export_package(tmp_path / "a.zip", as_zip=True)
        export_package(tmp_path / "b.zip", as_zip=True)

        assert read_folder(tmp_path / "a") == read_folder(tmp_path / "b")
        assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
        with zipfile.ZipFile(tmp_path / "a.zip") as archive:
            assert archive.read("services.csv") == (tmp_path / "a" / "services.csv").read_bytes()

    def test_every_table_is_written_with_its_schema_columns(self, tmp_path):
        export_package(tmp_path)

        descriptor = json.loads((tmp_path / "datapackage.json").read_text())
        assert [r["name"] for r in descriptor["resources"]] == list(tables())
        assert len(descriptor["resources"]) == 21
        for resource in descriptor["resources"]:
            table = tables()[resource["name"]]
            assert resource["profile"] == "tabular-data-resource"
            assert resource["path"] == table.path
            assert [f["name"] for f in resource["schema"]["fields"]] == table.column_names
            header = (tmp_path / table.path).read_text().splitlines()
            assert header[0] == ",".join(table.column_names)

    def test_values_are_formatted_for_reimport(self):
        org = OrganizationFactory(year_incorporated=2011.0)
        ServiceFactory(
            organization=org,
            minimum_age=12.5,
            assured_date=datetime.date(2024, 2, 29),
            last_modified=datetime.datetime(2024, 3, 1, 8, 0, tzinfo=datetime.UTC),
        )

        files, _ = package_files()

        orgs = files["organizations.csv"].decode()
        assert ",2011," in orgs and "2011.0" not in orgs
        services = files["services.csv"].decode()
        assert ",12.5," in services
        assert ",2024-02-29," in services
        assert "2024-03-01T08:00:00Z" in services

    def test_rows_are_ordered_by_id(self):
        ids = sorted(str(OrganizationFactory().id) for _ in range(5))
        rows = package_files()[0]["organizations.csv"].decode().splitlines()[1:]
        assert [r.split(",")[0] for r in rows] == ids

    def test_an_agency_export_holds_only_its_own_rows(self, agency_a, agency_b):
        mine = OrganizationFactory(agency=agency_a)
        OrganizationFactory(agency=agency_b)
        OrganizationFactory()

        rows = package_files(agency_a)[0]["organizations.csv"].decode().splitlines()[1:]

        assert [r.split(",")[0] for r in rows] == [str(mine.id)]


class TestValidation:
    @pytest.mark.parametrize(
        ("cells", "field", "reason"),
        [
            ({"year_incorporated": "nineteen"}, "year_incorporated", "is not a number"),
            ({"email": "not-an-email"}, "email", "is not an email address"),
            ({"website": "example dot com"}, "website", "is not a URI"),
            ({"parent_organization_id": "12345"}, "parent_organization_id", "is not a UUID"),
            ({"name": ""}, "name", "is required"),
        ],
    )
    def test_a_bad_organization_cell_is_reported_and_nothing_changes(
        self, tmp_path, cells, field, reason
    ):
        before = directory_snapshot()
        write_package(tmp_path, {"organization": [organization(**cells)]})

        report = import_package(tmp_path)

        assert errors_of(report) == [("organizations.csv", 2, ORG, field)]
        assert reason in report.errors[0].reason
        assert directory_snapshot() == before

    @pytest.mark.parametrize(
        ("cells", "field", "reason"),
        [
            ({"status": "open"}, "status", "is not one of active, inactive"),
            ({"assured_date": "29/02/2024"}, "assured_date", "is not a date"),
            ({"last_modified": "2024-03-01T08:00:00"}, "last_modified", "has no time zone"),
            ({"minimum_age": "12 years"}, "minimum_age", "is not a number"),
            ({"maximum_age": "1e400"}, "maximum_age", "is not a number"),
            ({"last_modified": "0001-01-01T00:00:00+01:00"}, "last_modified", "out of range"),
            ({"organization_id": ""}, "organization_id", "is required"),
            ({"id": "not-a-uuid"}, "id", "is not a UUID"),
        ],
    )
    def test_a_bad_service_cell_is_reported(self, tmp_path, cells, field, reason):
        write_package(tmp_path, {"organization": [organization()], "service": [service(**cells)]})

        report = import_package(tmp_path)

        assert [(p.file, p.line, p.field) for p in report.errors] == [("services.csv", 2, field)]
        assert reason in report.errors[0].reason
        assert not Organization.objects.exists()

    def test_a_time_with_an_offset_is_refused_rather_than_shifted(self, tmp_path):
        schedule = {"id": str(uuid.uuid4()), "service_id": SERVICE, "opens_at": "09:00-05:00"}
        write_package(
            tmp_path,
            {
                "organization": [organization()],
                "service": [service()],
                "schedule": [schedule],
            },
        )

        report = import_package(tmp_path)

        assert [p.field for p in report.errors] == ["opens_at"]
        assert "timezone column" in report.errors[0].reason

    def test_a_dangling_reference_rejects_the_row_and_its_dependants(self, tmp_path):
        missing = str(uuid.uuid4())
        phone = {"id": str(uuid.uuid4()), "service_id": SERVICE_2, "number": "541-555-0100"}
        write_package(
            tmp_path,
            {
                "organization": [organization()],
                "service": [service(), service(id=SERVICE_2, organization_id=missing)],
                "phone": [phone],
            },
        )

        report = import_package(tmp_path)

        assert errors_of(report) == [
            ("services.csv", 3, SERVICE_2, "organization_id"),
            ("phones.csv", 2, phone["id"], "service_id"),
        ]
        assert missing in report.errors[0].reason
        assert "neither in the package nor in the directory" in report.errors[0].reason
        assert "which is rejected (services.csv line 3)" in report.errors[1].reason
        assert not Organization.objects.exists()
        assert not Service.objects.exists()

    def test_duplicate_ids_reject_every_copy(self, tmp_path):
        write_package(tmp_path, {"organization": [organization(), organization(name="Other name")]})

        report = import_package(tmp_path)

        assert errors_of(report) == [
            ("organizations.csv", 2, ORG, "id"),
            ("organizations.csv", 3, ORG, "id"),
        ]
        assert "used more than once" in report.errors[0].reason

    def test_a_missing_csv_file_is_reported(self, tmp_path):
        write_package(tmp_path, {"organization": [organization()], "service": [service()]})
        (tmp_path / "services.csv").unlink()

        report = import_package(tmp_path)

        assert [(p.file, p.line) for p in report.errors] == [("services.csv", None)]
        assert "missing" in report.errors[0].reason
        assert not Organization.objects.exists()

    def test_unknown_columns_are_a_warning_and_ignored(self, tmp_path):
        write_package(tmp_path, {"organization": [organization(favourite_colour="green")]})

        report = import_package(tmp_path)

        assert report.errors == []
        [warning] = report.problems
        assert (warning.file, warning.line, warning.field) == (
            "organizations.csv",
            1,
            "favourite_colour",
        )
        assert not warning.error
        assert Organization.objects.get().name == "Lane Shelter Network"

    def test_line_numbers_count_multi_line_cells(self, tmp_path):
        write_package(
            tmp_path,
            {
                "organization": [
                    organization(description="Line one\nline two\nline three"),
                    organization(id=ORG_2, email="nope"),
                ]
            },
        )

        report = import_package(tmp_path)

        assert errors_of(report) == [("organizations.csv", 5, ORG_2, "email")]

    def test_a_reference_may_resolve_to_a_row_already_in_the_directory(self, tmp_path):
        OrganizationFactory(id=uuid.UUID(ORG))
        write_package(tmp_path, {"service": [service()]})

        report = import_package(tmp_path)

        assert report.errors == []
        assert Service.objects.get().organization_id == uuid.UUID(ORG)

    def test_a_parent_later_in_the_file_is_linked_in_a_second_pass(self, tmp_path):
        write_package(
            tmp_path,
            {
                "organization": [
                    organization(parent_organization_id=ORG_2),
                    organization(id=ORG_2, name="Parent"),
                ]
            },
        )

        report = import_package(tmp_path)

        assert report.errors == []
        assert Organization.objects.get(pk=ORG).parent_organization_id == uuid.UUID(ORG_2)


class TestLoadValid:
    def test_only_the_valid_part_is_loaded_and_the_rest_reported(self, tmp_path):
        write_package(
            tmp_path,
            {
                "organization": [organization(), organization(id=ORG_2, email="nope")],
                "service": [service(), service(id=SERVICE_2, organization_id=ORG_2)],
            },
        )

        report = import_package(tmp_path, load_valid=True)

        assert errors_of(report) == [
            ("organizations.csv", 3, ORG_2, "email"),
            ("services.csv", 3, SERVICE_2, "organization_id"),
        ]
        assert report.loaded
        assert list(Organization.objects.values_list("pk", flat=True)) == [uuid.UUID(ORG)]
        assert list(Service.objects.values_list("pk", flat=True)) == [uuid.UUID(SERVICE)]

    def test_a_dry_run_counts_and_changes_nothing(self, tmp_path):
        write_package(tmp_path, {"organization": [organization()]})

        report = import_package(tmp_path, dry_run=True)

        assert report.counts["organization"]["created"] == 1
        assert not report.loaded
        assert not Organization.objects.exists()


class TestUpsert:
    def test_a_changed_row_is_updated_and_counted(self, tmp_path):
        write_package(tmp_path / "v1", {"organization": [organization(), organization(id=ORG_2)]})
        write_package(
            tmp_path / "v2",
            {"organization": [organization(name="Renamed"), organization(id=ORG_2)]},
        )
        import_package(tmp_path / "v1")

        report = import_package(tmp_path / "v2")

        assert report.counts["organization"] == {"created": 0, "updated": 1, "unchanged": 1}
        assert Organization.objects.get(pk=ORG).name == "Renamed"

    def test_an_import_writes_one_audit_row(self, tmp_path):
        write_package(tmp_path, {"organization": [organization()]})

        import_package(tmp_path)

        event = AuditEvent.objects.get(action=Action.IMPORT)
        assert event.object_type == "hsds_package"
        assert event.detail["counts"]["organization"]["created"] == 1
        assert event.detail["loaded"] is True


class TestAgencyDirectories:
    def test_rows_go_to_the_agency_and_another_agency_never_sees_them(
        self, tmp_path, agency_a, carol, alice
    ):
        write_package(tmp_path, {"organization": [organization()], "service": [service()]})

        import_package(tmp_path, agency=agency_a)

        assert Organization.objects.get().agency == agency_a
        assert Service.objects.get().agency == agency_a
        assert not Organization.objects.visible_to(carol).exists()
        assert not Service.objects.visible_to(carol).exists()
        assert Service.objects.visible_to(alice).count() == 1

    def test_an_id_of_another_directory_is_refused(self, tmp_path, agency_a, agency_b):
        OrganizationFactory(id=uuid.UUID(ORG), agency=agency_b, name="Theirs")
        write_package(tmp_path, {"organization": [organization()]})

        report = import_package(tmp_path, agency=agency_a)

        assert errors_of(report) == [("organizations.csv", 2, ORG, "id")]
        assert "another directory" in report.errors[0].reason
        assert Organization.objects.get().name == "Theirs"

    def test_the_shared_directory_cannot_take_over_an_agency_row(self, tmp_path, agency_a):
        OrganizationFactory(id=uuid.UUID(ORG), agency=agency_a)
        write_package(tmp_path, {"organization": [organization()]})

        report = import_package(tmp_path)

        assert "another directory" in report.errors[0].reason

    def test_a_reference_into_another_agency_does_not_resolve(self, tmp_path, agency_a, agency_b):
        OrganizationFactory(id=uuid.UUID(ORG), agency=agency_b)
        write_package(tmp_path, {"service": [service()]})

        report = import_package(tmp_path, agency=agency_a)

        assert errors_of(report) == [("services.csv", 2, SERVICE, "organization_id")]

    def test_an_agency_service_may_belong_to_a_shared_organization(self, tmp_path, agency_a):
        OrganizationFactory(id=uuid.UUID(ORG))
        write_package(tmp_path, {"service": [service()]})

        report = import_package(tmp_path, agency=agency_a)

        assert report.errors == []
        assert Service.objects.get().agency == agency_a


class TestNeedCategories:
    def test_the_migration_made_the_needs_taxonomy_with_the_fixed_ids(self):
        terms = TaxonomyTerm.objects.filter(taxonomy_id=NEEDS_TAXONOMY_ID)
        assert {t.need_category: t.id for t in terms} == {
            c.value: i for c, i in NEED_TERM_IDS.items()
        }
        assert set(NEED_TERM_IDS) == set(NeedCategory)
        assert all(t.taxonomy == NEEDS_TAXONOMY_NAME and t.agency_id is None for t in terms)

    def test_the_migration_and_needs_py_agree(self):
        migration = importlib.import_module("directory.migrations.0002_casebook_needs_taxonomy")
        assert migration.TAXONOMY_ID == NEEDS_TAXONOMY_ID
        assert migration.TAXONOMY_NAME == NEEDS_TAXONOMY_NAME
        assert {c: uuid.UUID(t[0]) for c, t in migration.TERMS.items()} == {
            c.value: i for c, i in NEED_TERM_IDS.items()
        }

    @pytest.mark.parametrize(
        ("name", "description", "expected"),
        [
            ("Emergency Shelter", "", NeedCategory.HOUSING),
            ("Substance abuse treatment", "", NeedCategory.SUBSTANCE_USE),
            ("Domestic violence shelter", "", NeedCategory.DOMESTIC_VIOLENCE),
            ("Legal counsel", "", NeedCategory.LEGAL),
            ("Mental health care", "", NeedCategory.MENTAL_HEALTH),
            ("Community clinic", "", NeedCategory.MEDICAL),
            ("Food pantry", "", NeedCategory.FOOD),
            ("Job training", "", NeedCategory.EMPLOYMENT),
            ("Cash assistance", "", NeedCategory.FINANCIAL),
            ("Rides", "Transportation to appointments", NeedCategory.TRANSPORTATION),
            ("Detox", "", NeedCategory.SUBSTANCE_USE),
            ("Arts and crafts", "A weekly group.", ""),
        ],
    )
    def test_guess_from_the_words_of_a_term(self, name, description, expected):
        term = TaxonomyTerm(name=name, code="", description=description)
        assert guess_need_category(term) == expected

    def test_import_sets_a_guessed_category_and_keeps_one_already_set(self, tmp_path):
        set_term = TaxonomyTermFactory(name="Housing", need_category=NeedCategory.FOOD)
        new_id = str(uuid.uuid4())
        write_package(
            tmp_path,
            {
                "taxonomy_term": [
                    {"id": new_id, "name": "Detox beds", "description": "Detox."},
                    {"id": str(set_term.id), "name": "Housing", "description": "A term."},
                ]
            },
        )

        import_package(tmp_path)

        assert TaxonomyTerm.objects.get(pk=new_id).need_category == NeedCategory.SUBSTANCE_USE
        assert TaxonomyTerm.objects.get(pk=set_term.id).need_category == NeedCategory.FOOD


def test_every_schema_column_of_a_modelled_table_has_a_model_field():
    for table in tables().values():
        if table.model is HsdsRecord:
            continue
        attnames = {f.attname for f in table.model._meta.concrete_fields}
        assert set(table.column_names) <= attnames, table.name


def test_the_shipped_example_has_a_real_datapackage():
    descriptor = json.loads((EXAMPLE / "datapackage.json").read_text())
    assert descriptor["resources"] == datapackage()["resources"]
