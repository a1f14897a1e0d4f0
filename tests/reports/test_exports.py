"""Export jobs: permission, audit, the file's rows, failures never silent, and memory
that stays flat whatever the number of rows."""

import datetime
import os
import tracemalloc
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import Agency
from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from reports import exports, services
from reports.models import ExportJob, ExportStatus
from reports.report import agency_zone, referral_rows, referral_summary
from reports.tasks import sweep_exports
from tests.accounts.factories import AgencyFactory
from tests.reports.helpers import read_csv, read_xlsx, xlsx_cell


@pytest.fixture
def export(export_dir, django_capture_on_commit_callbacks):
    """export(user, format="csv", deidentified=True, **filters) -> the finished job, built
    by the task enqueued on commit."""

    def run(user, format="csv", deidentified=True, **filters):
        with django_capture_on_commit_callbacks(execute=True):
            job = services.request_export(
                actor=user, format=format, deidentified=deidentified, filters=filters
            )
        job.refresh_from_db()
        return job

    return run


@pytest.fixture
def dana_identified(dana):
    grant_agency_admin_permissions(user=dana)
    return type(dana).objects.get(pk=dana.pk)


def file_rows(job):
    data = Path(job.file_path).read_bytes()
    if job.format == "csv":
        return read_csv(data)
    # A sheet stores every number as a double, whole ones as "4903.0" (rust_xlsxwriter):
    # the cell is the number 4903, which reads back as the CSV's "4903".
    rows = read_xlsx(data)
    return [{**row, "Referral ID": str(int(float(row["Referral ID"])))} for row in rows]


class TestRequestExport:
    def test_a_supervisor_exports_de_identified_rows_audited(self, sam, dataset, export):
        job = export(sam, "csv", True, status="completed")

        assert job.status == ExportStatus.DONE
        assert job.requested_by == sam and job.agency_id == sam.agency_id
        event = AuditEvent.objects.get(action=Action.EXPORT, object_id=str(job.pk))
        assert event.actor == sam
        assert event.detail == {
            "kind": "referrals",
            "filters": {"status": "completed"},
            "format": "csv",
            "deidentified": True,
        }

    def test_names_need_the_export_identified_permission(self, sam, dataset, export):
        with pytest.raises(PermissionDenied):
            export(sam, "csv", False)

        assert not ExportJob.objects.exists()
        assert AuditEvent.objects.filter(actor=sam, action=Action.DENIED).count() == 1

    def test_a_supervisor_granted_the_permission_exports_names(
        self, sam, dataset, export, grant_identified
    ):
        job = export(grant_identified(sam), "csv", False)

        assert job.status == ExportStatus.DONE

    def test_agency_admins_get_the_permission_with_their_admin_rights(
        self, dana_identified, dataset, export
    ):
        assert export(dana_identified, "xlsx", False).status == ExportStatus.DONE
        assert export(dana_identified, "xlsx", True).status == ExportStatus.DONE

    @pytest.mark.parametrize("persona", ["alice", "root"])
    @pytest.mark.parametrize("deidentified", [True, False])
    def test_workers_and_system_admins_are_refused(self, persona, deidentified, request, export):
        user = request.getfixturevalue(persona)

        with pytest.raises(PermissionDenied):
            export(user, "csv", deidentified)

        assert not ExportJob.objects.exists()
        assert AuditEvent.objects.filter(actor=user, action=Action.DENIED).exists()


SENT_AT = "Sent at (Los Angeles time)"
# Saturday 5 December 2026, 19:00 in Los Angeles: UTC's date is already the 6th.
US_EVENING = datetime.datetime(2026, 12, 6, 3, 0, tzinfo=datetime.UTC)


class TestExportRows:
    @pytest.mark.parametrize("format", ["csv", "xlsx"])
    def test_the_rows_are_the_referrals_the_report_counts(
        self, dana_identified, dataset, export, format
    ):
        job = export(dana_identified, format, True, sent_from="2026-01-01")
        rows = file_rows(job)
        report = referral_rows(dana_identified, {"sent_from": "2026-01-01"})
        summary = referral_summary(report, tz=agency_zone(dana_identified.agency))

        assert len(rows) == summary.total_sent == job.rows_total == job.rows_done == 7
        expected = {
            str(r.pk): (r.get_status_display(), r.get_outcome_display() or "No outcome yet")
            for r in report
        }
        assert {row["Referral ID"]: (row["Status"], row["Outcome"]) for row in rows} == expected
        statuses = {}
        for row in rows:
            statuses[row["Status"]] = statuses.get(row["Status"], 0) + 1
        assert statuses == {label: rate.count for _, label, rate in summary.by_status if rate.count}
        connected = [r for r in rows if r["Status"] == "Completed" and r["Service date"]]
        assert len(connected) == summary.connected.count

    def test_a_row_reads_like_the_report(self, dana_identified, dataset, export):
        rows = {row["Referral ID"]: row for row in file_rows(export(dana_identified, "csv", False))}
        r1 = rows[str(dataset.r.r1.pk)]

        assert r1[SENT_AT] == "2026-01-05 09:00:00"
        assert r1["Team"] == "Mobile crisis 1"
        assert r1["Organization"] == "Shelter Network"
        assert r1["Service"] == "Emergency shelter"
        assert r1["Accepted at (Los Angeles time)"] == "2026-01-06 09:00:00"
        assert r1["Service date"] == "2026-01-08"
        assert r1["Days to acceptance"] == "1.0"
        assert r1["Days to first service"] == "3"
        assert r1["Loop closed"] == "Yes"
        # The agency's own time zone dates r7: sent on January 31 in Los Angeles.
        assert rows[str(dataset.r.r7.pk)][SENT_AT] == "2026-01-31 21:00:00"
        # A typed-in provider name cannot run as a formula in a spreadsheet.
        assert rows[str(dataset.r.r5.pk)]["Service"].startswith("'=")
        assert str(dataset.r.other_agency.pk) not in rows

    def test_choices_read_as_the_referral_pages_say_them(self, dana_identified, dataset, export):
        rows = {row["Referral ID"]: row for row in file_rows(export(dana_identified, "csv"))}
        r1, r5 = rows[str(dataset.r.r1.pk)], rows[str(dataset.r.r5.pk)]

        assert (r1["Status"], r1["Outcome"], r1["Need"]) == (
            "Completed",
            "Got help",
            "Housing and shelter",
        )
        assert r1["Urgency"] == "Routine"
        # A referral waiting on the provider is "Sent" on every page, not FHIR's "requested".
        assert (r5["Status"], r5["Outcome"], r5["Loop closed"]) == ("Sent", "No outcome yet", "No")

    def test_the_header_names_the_agency_zone_of_its_times(self, dana_identified, dataset, export):
        data = Path(export(dana_identified, "csv").file_path).read_bytes()

        header = data.decode("utf-8-sig").splitlines()[0].split(",")
        assert header == [
            "Referral ID", SENT_AT, "Status", "Outcome", "Need", "Urgency", "Team", "Worker",
            "Organization", "Service", "Accepted at (Los Angeles time)", "Service date",
            "Closed at (Los Angeles time)", "Days to acceptance", "Days to first service",
            "Loop closed", "Client key",
        ]  # fmt: skip

    def test_the_xlsx_has_date_cells_in_the_agency_time(self, dana_identified, dataset, export):
        job = export(dana_identified, "xlsx", True, status="completed")
        data = Path(job.file_path).read_bytes()

        # Row 2 is r1, sent 2026-01-05 17:00Z: 09:00 in Los Angeles, as a date cell.
        kind, value, number_format = xlsx_cell(data, "B2")
        nine_am = datetime.datetime(2026, 1, 5, 9) - datetime.datetime(1899, 12, 30)
        assert kind is None and float(value) == pytest.approx(nine_am / datetime.timedelta(days=1))
        assert number_format == "yyyy-mm-dd hh:mm:ss"
        kind, value, number_format = xlsx_cell(data, "L2")  # the service date
        assert kind is None and number_format == "yyyy-mm-dd"
        assert read_xlsx(data)[0]["Status"] == "Completed"

    def test_the_file_is_named_by_the_agency_day_and_time(self, sam, dataset, export, time_machine):
        time_machine.move_to(US_EVENING, tick=False)

        job = export(sam, "csv")

        assert Path(job.file_path).name == "referrals-deidentified-20261205-1900.csv"

    def test_the_csv_starts_with_a_bom_and_keeps_accented_names(
        self, dana_identified, dataset, export
    ):
        job = export(dana_identified, "csv", False)
        data = Path(job.file_path).read_bytes()

        assert data.startswith(b"\xef\xbb\xbfReferral ID,")
        rows = read_csv(data)
        jose = [row for row in rows if row["Client name"] == "José Núñez"]
        assert len(jose) == 3  # r1, r3, r7
        assert jose[0]["Client date of birth"] == "1984-02-29"
        assert jose[0]["Client phone"] == "541-555-0111"

    def test_the_xlsx_opens_with_accented_names(self, dana_identified, dataset, export):
        job = export(dana_identified, "xlsx", False)

        assert Path(job.file_path).suffix == ".xlsx"
        rows = read_xlsx(Path(job.file_path).read_bytes())
        assert "José Núñez" in {row["Client name"] for row in rows}
        assert len(rows) == 7


class TestDeidentifiedExport:
    def test_it_has_no_names_birth_dates_or_phones(self, dana_identified, dataset, export):
        job = export(dana_identified, "csv", True)
        data = Path(job.file_path).read_bytes().decode("utf-8-sig")
        rows = read_csv(Path(job.file_path).read_bytes())

        assert set(rows[0]) == set(exports.columns(True, agency=dana_identified.agency))
        assert "Client key" in rows[0] and "Client name" not in rows[0]
        for secret in ("José", "Núñez", "1984-02-29", "541-555-0111", "Needs a place"):
            assert secret not in data
        assert all(len(row["Client key"]) == 16 for row in rows)

    def test_the_client_key_is_stable_within_the_agency(self, sam, dataset, export):
        first = {r["Referral ID"]: r["Client key"] for r in file_rows(export(sam, "csv"))}
        again = {r["Referral ID"]: r["Client key"] for r in file_rows(export(sam, "xlsx"))}

        assert first == again
        r = dataset.r
        # r1 and r3 are José's: one key; r2 is another client's.
        assert first[str(r.r1.pk)] == first[str(r.r3.pk)] != first[str(r.r2.pk)]

    def test_the_same_client_id_gets_another_key_in_another_agency(self, agency_a, agency_b):
        assert agency_a.client_key_secret != agency_b.client_key_secret
        assert exports.client_key(agency_a.client_key_secret, 42) != exports.client_key(
            agency_b.client_key_secret, 42
        )
        assert exports.client_key(agency_a.client_key_secret, 42) == exports.client_key(
            agency_a.client_key_secret, 42
        )

    def test_every_new_agency_gets_its_own_secret(self, db):
        secrets = {AgencyFactory().client_key_secret for _ in range(3)}

        assert len(secrets) == 3 and all(len(s) == 64 for s in secrets)


class TestExportFailures:
    def test_an_export_that_cannot_write_is_marked_failed_with_a_reason(
        self, sam, dataset, export, export_dir
    ):
        # EXPORT_DIR is a file, not a folder: the job cannot write its file.
        export_dir.write_text("not a folder")

        job = export(sam, "csv", True)

        assert job.status == ExportStatus.FAILED
        assert job.error and "\n" not in job.error
        assert job.finished_at is not None and not job.file_path

    def test_a_job_whose_requester_lost_the_permission_fails(
        self, sam, dataset, export_dir, grant_identified, django_capture_on_commit_callbacks
    ):
        sam = grant_identified(sam)
        with django_capture_on_commit_callbacks() as callbacks:
            job = services.request_export(actor=sam, format="csv", deidentified=False, filters={})
        sam.user_permissions.clear()
        for callback in callbacks:
            callback()

        job.refresh_from_db()
        assert job.status == ExportStatus.FAILED
        assert "no longer" in job.error

    def test_a_second_delivery_of_the_task_does_nothing(self, sam, dataset, export):
        job = export(sam, "csv", True)
        finished = job.finished_at

        assert services.build_export(job_id=job.pk) is None
        job.refresh_from_db()
        assert job.finished_at == finished and job.status == ExportStatus.DONE


class TestSweeper:
    def make_job(self, user, **fields):
        return ExportJob.objects.create(
            agency_id=user.agency_id, requested_by=user, format="csv", **fields
        )

    def test_started_jobs_that_stalled_are_marked_failed_and_queued_ones_are_not(
        self, sam, export_dir
    ):
        now = timezone.now()
        stalled = self.make_job(
            sam, status=ExportStatus.RUNNING, heartbeat_at=now - datetime.timedelta(minutes=11)
        )
        never_started = self.make_job(sam, created_at=now - datetime.timedelta(minutes=15))
        alive = self.make_job(
            sam, status=ExportStatus.RUNNING, heartbeat_at=now - datetime.timedelta(minutes=2)
        )
        just_queued = self.make_job(sam)

        assert services.fail_stalled_exports() == 1

        stalled.refresh_from_db()
        assert stalled.status == ExportStatus.FAILED
        assert stalled.error == "The export stopped; please try again."
        for job, status in (
            (alive, ExportStatus.RUNNING),
            (never_started, ExportStatus.QUEUED),
            (just_queued, ExportStatus.QUEUED),
        ):
            job.refresh_from_db()
            assert job.status == status

    def test_the_beat_sweep_builds_a_job_queued_long_ago_instead_of_failing_it(
        self, sam, dataset, export_dir
    ):
        never_started = self.make_job(
            sam, created_at=timezone.now() - datetime.timedelta(minutes=15)
        )

        assert sweep_exports.delay().get() == 1

        never_started.refresh_from_db()
        assert never_started.status == ExportStatus.DONE and never_started.error == ""
        assert Path(never_started.file_path).is_file()

    def test_files_older_than_a_week_are_deleted(self, sam, export_dir):
        old = self.make_job(sam, status=ExportStatus.DONE)
        recent = self.make_job(sam, status=ExportStatus.DONE)
        for job in (old, recent):
            folder = export_dir / str(job.pk)
            folder.mkdir(parents=True)
            (folder / "referrals.csv").write_text("x")
            job.file_path = str(folder / "referrals.csv")
            job.save()
        week_ago = (timezone.now() - datetime.timedelta(days=8)).timestamp()
        os.utime(export_dir / str(old.pk), (week_ago, week_ago))

        sweep_exports.delay()

        old.refresh_from_db()
        recent.refresh_from_db()
        assert not (export_dir / str(old.pk)).exists() and old.file_path == ""
        assert Path(recent.file_path).exists()


def synthetic_rows(n):
    now = datetime.datetime(2026, 1, 5, 9, tzinfo=datetime.UTC)
    for i in range(n):
        yield [
            i, now, "Completed", "Got help", "Housing and shelter", "Routine", "Mobile crisis 1",
            "Alice Worker", "Shelter Network", "Emergency shelter", now, now.date(), now,
            1.5, 3, True, "José Núñez", now.date(), "541-555-0100",
        ]  # fmt: skip


@pytest.mark.slow
class TestConstantMemory:
    ROWS = 200_000
    LIMIT = 3 * 1024 * 1024

    def test_the_csv_file_writer_holds_one_row_at_a_time(self, tmp_path):
        header = exports.columns(False, agency=Agency(timezone="America/Los_Angeles"))
        tracemalloc.start()
        try:
            written = exports.write_csv(tmp_path / "big.csv", header, synthetic_rows(self.ROWS))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert written == self.ROWS
        assert peak < self.LIMIT, peak
        assert (tmp_path / "big.csv").stat().st_size > 20 * self.ROWS

    def test_the_csv_stream_holds_one_row_at_a_time(self):
        header = exports.columns(False, agency=Agency(timezone="America/Los_Angeles"))
        tracemalloc.start()
        try:
            size = sum(len(line) for line in exports.csv_stream(header, synthetic_rows(self.ROWS)))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        assert size > 20 * self.ROWS
        assert peak < self.LIMIT, peak
