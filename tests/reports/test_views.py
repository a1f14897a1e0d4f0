"""The report page, its direct CSV, and the exports pages: who sees what, audited."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from referrals.models import Status
from reports.models import ExportJob, ExportStatus
from tests.referrals.factories import ReferralFactory
from tests.reports.helpers import read_csv

REPORT = reverse("reports:referral_report")
CSV = reverse("reports:referral_csv")
EXPORTS = reverse("reports:exports")
EXPORT_NEW = reverse("reports:export_request")


def streamed(response):
    return b"".join(response.streaming_content)


@pytest.fixture
def dana_identified(dana):
    grant_agency_admin_permissions(user=dana)
    return type(dana).objects.get(pk=dana.pk)


class TestReportPage:
    def test_the_agency_admin_sees_the_numbers_with_their_denominators(self, login, dana, dataset):
        response = login(dana).get(REPORT)

        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="total-sent">7<' in html
        assert "28.6%" in html and "2 of 7 seen" in html
        assert "Housing and shelter" in html  # the chart and its table
        assert "<caption>Referrals by need and outcome" in html
        event = AuditEvent.objects.get(actor=dana, action=Action.LIST)
        assert event.object_type == "referral_report"
        assert event.detail == {"filters": {}, "total_sent": 7}

    def test_filters_apply_and_are_audited(self, login, dana, dataset, team_a2):
        response = login(dana).get(REPORT, {"team": team_a2.pk, "sent_to": "2026-01-31"})

        assert 'id="total-sent">2<' in response.content.decode()
        event = AuditEvent.objects.get(actor=dana, action=Action.LIST)
        assert event.detail["filters"] == {"sent_to": "2026-01-31", "team": team_a2.pk}

    @pytest.mark.parametrize(
        "query",
        [
            {"sent_from": "2026-13-45"},
            {"sent_from": "2026-02-01", "sent_to": "2026-01-01"},
            {"team": "abc"},
            {"team": "99999999999999999999999"},
            {"status": "draft"},
            {"outcome": "x\x00"},
            {"service": "not-a-uuid"},
        ],
    )
    def test_bad_filters_are_form_errors(self, login, dana, dataset, query):
        response = login(dana).get(REPORT, query)

        assert response.status_code == 200
        assert "Correct the filters" in response.content.decode()

    def test_another_agencys_team_is_not_a_choice(self, login, dana, dataset, team_b):
        response = login(dana).get(REPORT, {"team": team_b.pk})

        assert "Correct the filters" in response.content.decode()
        assert "STAR van" not in response.content.decode()

    def test_a_supervisor_sees_their_teams(self, login, sam, dataset):
        response = login(sam).get(REPORT)

        assert 'id="total-sent">5<' in response.content.decode()

    def test_only_granted_users_are_offered_exports_with_names(
        self, login, sam, dana_identified, dataset
    ):
        assert "CSV with names" not in login(sam).get(REPORT).content.decode()
        assert "CSV with names" in login(dana_identified).get(REPORT).content.decode()

    @pytest.mark.parametrize("persona", ["alice", "carol", "root"])
    def test_workers_and_system_admins_are_refused(self, login, persona, request, dataset):
        user = request.getfixturevalue(persona)

        response = login(user).get(REPORT)

        assert response.status_code == 403
        assert AuditEvent.objects.filter(
            actor=user, action=Action.DENIED, object_type="referral_report"
        ).exists()

    def test_another_agencys_admin_sees_only_their_agency(self, login, carol, dataset):
        carol.role = Role.AGENCY_ADMIN
        carol.save()

        response = login(carol).get(REPORT)

        # Agency B has exactly one referral, completed.
        assert 'id="total-sent">1<' in response.content.decode()
        assert "Shelter Network" not in response.content.decode()

    def test_the_query_count_does_not_grow_with_referrals(
        self, login, dana, dataset, django_assert_max_num_queries
    ):
        web = login(dana)
        with django_assert_max_num_queries(18):  # +1: the inbox count in the nav
            web.get(REPORT)
        for _ in range(20):
            ReferralFactory(
                case=dataset.r.r1.case,
                service=dataset.counselling,
                status=Status.REQUESTED,
                sent_at=dataset.r.r1.sent_at,
            )
        with django_assert_max_num_queries(18):  # +1: the inbox count in the nav
            assert 'id="total-sent">27<' in web.get(REPORT).content.decode()


class TestDirectCsv:
    def test_it_streams_the_report_rows_with_a_bom_audited(self, login, sam, dataset):
        response = login(sam).get(CSV, {"status": "completed"})

        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        rows = read_csv(streamed(response))
        assert [row["Referral ID"] for row in rows] == [str(dataset.r.r1.pk)]
        assert "Client name" not in rows[0]
        event = AuditEvent.objects.get(actor=sam, action=Action.EXPORT)
        assert event.detail["filters"] == {"status": "completed"}
        assert event.detail["deidentified"] is True and event.detail["streamed"] is True

    def test_the_file_is_named_by_the_agency_date(self, login, sam, dataset, time_machine):
        # 03:00 UTC on 6 December is still 5 December in Los Angeles.
        time_machine.move_to(datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC), tick=False)

        response = login(sam).get(CSV)

        assert response["Content-Disposition"] == (
            'attachment; filename="referrals-deidentified-20261205.csv"'
        )

    def test_names_need_the_permission(self, login, sam, dana_identified, dataset):
        refused = login(sam).get(CSV, {"deidentified": "0"})

        assert refused.status_code == 403
        assert AuditEvent.objects.filter(actor=sam, action=Action.DENIED).exists()
        rows = read_csv(streamed(login(dana_identified).get(CSV, {"deidentified": "0"})))
        assert "José Núñez" in {row["Client name"] for row in rows}

    def test_bad_filters_are_a_400(self, login, dana, dataset):
        response = login(dana).get(CSV, {"sent_from": "yesterday"})

        assert response.status_code == 400
        assert b"sent_from" in response.content

    @pytest.mark.parametrize("persona", ["alice", "root"])
    def test_workers_and_system_admins_are_refused(self, login, persona, request, dataset):
        assert login(request.getfixturevalue(persona)).get(CSV).status_code == 403


class TestExportPages:
    def ask(self, web, export_dir, captured, **data):
        with captured(execute=True):
            return web.post(EXPORT_NEW, {"format": "csv", "deidentified": "1", **data})

    def test_asking_queues_a_job_then_lists_it_with_its_download(
        self, login, sam, dataset, export_dir, django_capture_on_commit_callbacks
    ):
        web = login(sam)
        response = self.ask(web, export_dir, django_capture_on_commit_callbacks, status="failed")

        assert response.status_code == 302 and response["Location"] == EXPORTS
        job = ExportJob.objects.get()
        assert job.filters == {"status": "failed"} and job.status == ExportStatus.DONE
        page = web.get(EXPORTS).content.decode()
        assert reverse("reports:export_download", args=[job.pk]) in page
        assert "hx-trigger" not in page  # done: nothing to poll

    def test_a_job_in_progress_polls_every_two_seconds(self, login, sam, dataset):
        job = ExportJob.objects.create(
            agency_id=sam.agency_id, requested_by=sam, format="csv", rows_total=10, rows_done=4
        )
        web = login(sam)

        page = web.get(EXPORTS).content.decode()
        assert 'hx-trigger="every 2s"' in page
        row = web.get(reverse("reports:export_status", args=[job.pk])).content.decode()
        assert "40%" in row and 'hx-trigger="every 2s"' in row
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.FAILED, error="Boom")
        row = web.get(reverse("reports:export_status", args=[job.pk])).content.decode()
        assert "hx-trigger" not in row and "Boom" in row

    def test_the_requester_downloads_the_file_audited(
        self, login, sam, dataset, export_dir, django_capture_on_commit_callbacks
    ):
        web = login(sam)
        self.ask(web, export_dir, django_capture_on_commit_callbacks)
        job = ExportJob.objects.get()

        response = web.get(reverse("reports:export_download", args=[job.pk]))

        assert response.status_code == 200
        assert len(read_csv(streamed(response))) == 5
        event = AuditEvent.objects.filter(actor=sam, action=Action.EXPORT).first()
        assert event.detail["downloaded"] is True and event.object_id == str(job.pk)

    @pytest.mark.parametrize("persona", ["dana", "bob", "carol"])
    def test_anyone_else_gets_404_and_a_denied_row(
        self,
        login,
        sam,
        persona,
        request,
        dataset,
        export_dir,
        django_capture_on_commit_callbacks,
    ):
        self.ask(login(sam), export_dir, django_capture_on_commit_callbacks)
        job = ExportJob.objects.get()
        other = request.getfixturevalue(persona)
        web = login(other)

        for name in ("reports:export_download", "reports:export_status"):
            assert web.get(reverse(name, args=[job.pk])).status_code == 404
        denied = AuditEvent.objects.filter(
            actor=other, action=Action.DENIED, object_type="exportjob", object_id=str(job.pk)
        )
        assert denied.count() == 2
        assert denied.first().agency_id == sam.agency_id

    def test_a_deleted_file_is_a_404(self, login, sam, dataset):
        job = ExportJob.objects.create(
            agency_id=sam.agency_id, requested_by=sam, format="csv", status=ExportStatus.DONE
        )

        response = login(sam).get(reverse("reports:export_download", args=[job.pk]))

        assert response.status_code == 404

    def test_the_exports_list_is_your_own_in_fixed_queries(
        self, login, sam, dana, dataset, django_assert_max_num_queries
    ):
        for user in (sam, dana):
            for _ in range(5):
                ExportJob.objects.create(agency_id=user.agency_id, requested_by=user, format="csv")
        web = login(sam)

        with django_assert_max_num_queries(9):  # +1: the inbox count in the nav
            response = web.get(EXPORTS)

        assert len(response.context["jobs"]) == 5

    @pytest.mark.parametrize("persona", ["alice", "root"])
    def test_workers_and_system_admins_are_refused(self, login, persona, request):
        web = login(request.getfixturevalue(persona))

        assert web.get(EXPORTS).status_code == 403
        assert web.post(EXPORT_NEW, {"format": "csv", "deidentified": "1"}).status_code == 403
        assert not ExportJob.objects.exists()

    def test_garbage_requests_queue_nothing(self, login, sam, dataset):
        web = login(sam)
        for body in [{}, {"format": "pdf"}, {"format": "csv", "deidentified": "x\x00"},
                     {"format": "csv", "deidentified": "1", "team": "abc"}]:  # fmt: skip
            assert web.post(EXPORT_NEW, body).status_code == 302

        assert not ExportJob.objects.exists()
