"""The report and export jobs over the API: the page's rules, JSON errors per field."""

import datetime

import pytest
from django.core.management import call_command

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from reports.models import ExportJob, ExportStatus
from tests.reports.helpers import read_csv, read_xlsx

REPORT = "/api/v1/reports/referrals/"
EXPORTS = "/api/v1/reports/exports/"


@pytest.fixture
def as_user(api):
    def sign_in(user):
        api.force_login(user)
        return api

    return sign_in


@pytest.fixture
def dana_identified(dana):
    grant_agency_admin_permissions(user=dana)
    return type(dana).objects.get(pk=dana.pk)


def body(response):
    return b"".join(response.streaming_content)


class TestReportEndpoint:
    def test_the_summary_is_json_with_denominators(self, as_user, dana, dataset):
        response = as_user(dana).get(REPORT)

        assert response.status_code == 200
        data = response.json()
        assert data["total_sent"] == 7
        assert data["connected"] == {"count": 2, "of": 7, "percent": 28.6}
        assert data["connection_rate"] == 28.6
        assert data["median_days_to_acceptance"] == {"days": 1.5, "of": 4}
        assert data["median_days_to_first_service"] == {"days": 5.0, "of": 2}
        housing = next(r for r in data["by_category"] if r["need_category"] == "housing")
        assert housing["total"] == 3 and housing["outcomes"]["got_help"] == 1
        assert AuditEvent.objects.filter(actor=dana, action=Action.LIST).exists()

    def test_filters_match_the_page(self, as_user, dana, dataset, team_a2):
        response = as_user(dana).get(REPORT, {"team": team_a2.pk, "status": "completed"})

        assert response.json()["total_sent"] == 1  # r4

    def test_csv_streams_the_rows(self, as_user, sam, dataset):
        response = as_user(sam).get(REPORT, {"format": "csv", "need_category": "food"})

        assert response.status_code == 200
        rows = read_csv(body(response))
        assert [row["Referral ID"] for row in rows] == [str(dataset.r.r6.pk)]
        assert "Client key" in rows[0] and "Client name" not in rows[0]
        event = AuditEvent.objects.get(actor=sam, action=Action.EXPORT)
        assert event.detail["format"] == "csv" and event.detail["deidentified"] is True

    def test_xlsx_with_names_for_the_granted(self, as_user, dana_identified, dataset):
        response = as_user(dana_identified).get(REPORT, {"format": "xlsx", "deidentified": "false"})

        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        rows = read_xlsx(body(response))
        assert len(rows) == 7 and "José Núñez" in {row["Client name"] for row in rows}

    def test_the_file_is_named_by_the_agency_date(self, as_user, sam, dataset, time_machine):
        # 03:00 UTC on 6 December is still 5 December in Los Angeles.
        time_machine.move_to(datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC), tick=False)

        response = as_user(sam).get(REPORT, {"format": "xlsx"})

        assert 'filename="referrals-deidentified-20261205.xlsx"' in response["Content-Disposition"]

    def test_names_are_refused_without_the_permission(self, as_user, sam, dataset):
        response = as_user(sam).get(REPORT, {"format": "csv", "deidentified": "false"})

        assert response.status_code == 403
        assert AuditEvent.objects.filter(actor=sam, action=Action.DENIED).exists()

    @pytest.mark.parametrize(
        "query, field",
        [
            ({"sent_from": "yesterday"}, "sent_from"),
            ({"sent_from": "2026-02-01", "sent_to": "2026-01-01"}, "sent_to"),
            ({"team": "abc"}, "team"),
            ({"team": "99999999999999999999999"}, "team"),
            ({"worker": "\x00"}, "worker"),
            ({"status": "draft"}, "status"),
            ({"outcome": "nope"}, "outcome"),
            ({"organization": "x"}, "organization"),
            ({"service": "00000000-0000-0000-0000-000000000000"}, "service"),
            ({"format": "pdf"}, "format"),
            ({"deidentified": "maybe"}, "deidentified"),
        ],
    )
    def test_bad_filters_are_400_per_field(self, as_user, dana, dataset, query, field):
        response = as_user(dana).get(REPORT, query)

        assert response.status_code == 400
        assert field in response.json()

    def test_another_agencys_team_and_worker_are_unknown(
        self, as_user, dana, carol, team_b, dataset
    ):
        for query in ({"team": team_b.pk}, {"worker": carol.pk}):
            assert as_user(dana).get(REPORT, query).status_code == 400

    @pytest.mark.parametrize("persona", ["alice", "carol", "root"])
    def test_workers_and_system_admins_are_refused(self, as_user, persona, request, dataset):
        user = request.getfixturevalue(persona)

        assert as_user(user).get(REPORT).status_code == 403
        assert as_user(user).get(EXPORTS).status_code == 403
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).count() == 2


class TestExportJobsEndpoint:
    def ask(self, api, captured, **data):
        with captured(execute=True):
            return api.post(EXPORTS, data, format="json")

    def test_ask_follow_and_download(
        self, as_user, sam, dataset, export_dir, django_capture_on_commit_callbacks
    ):
        api = as_user(sam)
        response = self.ask(
            api,
            django_capture_on_commit_callbacks,
            format="csv",
            filters={"need_category": "housing"},
        )

        assert response.status_code == 201
        job_id = response.json()["id"]
        detail = api.get(f"{EXPORTS}{job_id}/").json()
        assert detail["status"] == ExportStatus.DONE
        assert detail["progress_percent"] == 100 and detail["rows_done"] == 3
        assert detail["filters"] == {"need_category": "housing"}
        assert [job["id"] for job in api.get(EXPORTS).json()["results"]] == [job_id]
        download = api.get(detail["download_url"])
        assert download.status_code == 200
        assert len(read_csv(body(download))) == 3  # r1, r2, r7

    def test_bad_requests_are_400_per_field(self, as_user, sam, dataset):
        api = as_user(sam)
        cases = [
            ({"format": "pdf"}, "format"),
            ({"format": "csv", "deidentified": "maybe"}, "deidentified"),
            ({"format": "csv", "filters": "status=completed"}, "filters"),
            ({"format": "csv", "filters": {"team": "abc"}}, "filters"),
            ({"format": "csv", "filters": {"sent_from": "\x00"}}, "filters"),
        ]
        for data, field in cases:
            response = api.post(EXPORTS, data, format="json")
            assert response.status_code == 400, data
            assert field in response.json(), data
        assert not ExportJob.objects.exists()

    def test_names_need_the_permission(self, as_user, sam, dataset):
        response = as_user(sam).post(
            EXPORTS, {"format": "xlsx", "deidentified": False}, format="json"
        )

        assert response.status_code == 403
        assert not ExportJob.objects.exists()

    @pytest.mark.parametrize("persona", ["dana", "carol"])
    def test_another_users_job_is_404_and_denied(
        self,
        as_user,
        sam,
        persona,
        request,
        dataset,
        export_dir,
        django_capture_on_commit_callbacks,
    ):
        job_id = self.ask(as_user(sam), django_capture_on_commit_callbacks, format="csv").json()[
            "id"
        ]
        other = request.getfixturevalue(persona)
        if persona == "carol":
            other.role = "agency_admin"
            other.save()
        api = as_user(other)

        assert api.get(f"{EXPORTS}{job_id}/").status_code == 404
        assert api.get(f"{EXPORTS}{job_id}/download/").status_code == 404
        assert api.get(EXPORTS).json()["results"] == []
        assert (
            AuditEvent.objects.filter(
                actor=other, action=Action.DENIED, object_id=str(job_id)
            ).count()
            == 2
        )

    @pytest.mark.parametrize("bad_id", ["abc", "-1", "99999999999999999999999", "1.5"])
    def test_bad_ids_are_404(self, as_user, sam, bad_id):
        assert as_user(sam).get(f"{EXPORTS}{bad_id}/").status_code == 404

    @pytest.mark.parametrize("written", ["%2B{}", "%20{}"])
    def test_an_own_id_written_with_a_sign_or_a_space_is_refused_like_an_unknown_id(
        self, as_user, sam, written
    ):
        job = ExportJob.objects.create(agency_id=sam.agency_id, requested_by=sam, format="csv")
        api = as_user(sam)
        assert api.get(f"{EXPORTS}{job.pk}/").status_code == 200

        assert api.get(f"{EXPORTS}{job.pk + 1000}/").status_code == 404
        assert api.get(EXPORTS + written.format(job.pk) + "/").status_code == 404
        assert api.get(EXPORTS + written.format(job.pk) + "/download/").status_code == 404
        denied = AuditEvent.objects.filter(actor=sam, action=Action.DENIED)
        assert denied.count() == 3
        assert denied.filter(object_id=str(job.pk)).count() == 0

    def test_the_list_runs_a_fixed_number_of_queries(
        self, as_user, sam, django_assert_max_num_queries
    ):
        for _ in range(30):
            ExportJob.objects.create(agency_id=sam.agency_id, requested_by=sam, format="csv")
        api = as_user(sam)

        # +1 over the plain page: its ids first (core.api.DeferredJoinPaginator).
        with django_assert_max_num_queries(9):
            assert len(api.get(EXPORTS).json()["results"]) == 25


class TestSchema:
    def test_the_report_and_exports_are_in_the_schema(self, tmp_path, db):
        call_command("spectacular", "--validate", "--file", str(tmp_path / "s.yaml"))
        schema = (tmp_path / "s.yaml").read_text()

        for path in (REPORT, EXPORTS, EXPORTS + "{id}/", EXPORTS + "{id}/download/"):
            assert f"{path}:" in schema, path
        assert "text/csv" in schema
