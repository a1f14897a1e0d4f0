"""Exports while the broker cannot be reached: the person who asks is told the export is
queued (never a 500), and the export sweep builds it once the hand-off was lost."""

import contextlib
import datetime
import logging
from pathlib import Path
from unittest import mock

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from reports import services, tasks
from reports.models import ExportJob, ExportStatus

pytestmark = pytest.mark.django_db

EXPORTS = reverse("reports:exports")
EXPORT_NEW = reverse("reports:export_request")
API_EXPORTS = "/api/v1/reports/exports/"
REFUSED = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def broker_down():
    """build_export.delay fails as it does when Redis refuses the connection."""
    with mock.patch.object(tasks.build_export, "delay", side_effect=REFUSED) as delay:
        yield delay


@pytest.fixture
def later():
    """later(minutes) moves the clock on (past the sweep's grace for a queued job, say)
    until the test ends."""
    with contextlib.ExitStack() as stack:

        def move(minutes):
            at = timezone.now() + datetime.timedelta(minutes=minutes)
            stack.enter_context(time_machine.travel(at, tick=False))

        yield move


def sweep():
    return tasks.sweep_exports.delay().get()


class TestAskingWhileTheBrokerIsDown:
    def test_the_page_says_queued_and_the_sweep_builds_it_once(
        self,
        login,
        sam,
        dataset,
        export_dir,
        broker_down,
        later,
        caplog,
        django_capture_on_commit_callbacks,
    ):
        web = login(sam)
        with (
            caplog.at_level(logging.WARNING, logger="reports.services"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = web.post(EXPORT_NEW, {"format": "csv", "deidentified": "1"})

        assert response.status_code == 302 and response["Location"] == EXPORTS
        assert "being prepared" in web.get(EXPORTS).content.decode()
        job = ExportJob.objects.get()
        assert job.status == ExportStatus.QUEUED
        assert broker_down.call_count == 1
        assert f"Export {job.pk} left for the sweep" in caplog.text

        # Within the grace its own task may still come: the sweep leaves it.
        assert sweep() == 0
        later(2)
        assert sweep() == 1

        job.refresh_from_db()
        assert job.status == ExportStatus.DONE
        assert Path(job.file_path).is_file()
        finished = job.finished_at
        assert sweep() == 0
        assert sweep() == 0
        job.refresh_from_db()
        assert (job.status, job.finished_at) == (ExportStatus.DONE, finished)

    def test_the_api_answers_201_queued(
        self, api, sam, dataset, export_dir, broker_down, django_capture_on_commit_callbacks
    ):
        api.force_login(sam)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(API_EXPORTS, {"format": "csv"}, format="json")

        assert response.status_code == 201
        assert response.json()["status"] == ExportStatus.QUEUED
        assert ExportJob.objects.get().status == ExportStatus.QUEUED


class TestTheSweepAndTheTask:
    def ask(self, user, captured):
        with captured(execute=False) as callbacks:
            job = services.request_export(actor=user, format="csv", deidentified=True, filters={})
        return job, callbacks

    def test_a_task_that_arrives_after_the_sweep_built_the_job_does_nothing(
        self, sam, dataset, export_dir, later, django_capture_on_commit_callbacks
    ):
        job, hand_off = self.ask(sam, django_capture_on_commit_callbacks)
        later(2)
        assert services.build_waiting_exports() == 1
        job.refresh_from_db()
        finished = job.finished_at

        for callback in hand_off:  # the hand-off, late: the broker kept the message
            callback()

        job.refresh_from_db()
        assert (job.status, job.finished_at) == (ExportStatus.DONE, finished)

    def test_a_job_its_own_task_built_is_not_built_again_by_the_sweep(
        self, sam, dataset, export_dir, later, django_capture_on_commit_callbacks
    ):
        job, hand_off = self.ask(sam, django_capture_on_commit_callbacks)
        for callback in hand_off:
            callback()
        job.refresh_from_db()
        assert job.status == ExportStatus.DONE
        later(2)

        assert services.build_waiting_exports() == 0

    def test_the_oldest_waiting_jobs_go_first_and_no_more_than_the_limit(
        self, sam, dataset, export_dir, later, broker_down, django_capture_on_commit_callbacks
    ):
        jobs = []
        for minutes in (3, 2, 1):
            with django_capture_on_commit_callbacks(execute=True):
                jobs.append(
                    services.request_export(actor=sam, format="csv", deidentified=True, filters={})
                )
            ExportJob.objects.filter(pk=jobs[-1].pk).update(
                created_at=timezone.now() - datetime.timedelta(minutes=minutes)
            )

        assert services.build_waiting_exports(limit=2) == 2

        assert [ExportJob.objects.get(pk=job.pk).status for job in jobs] == [
            ExportStatus.DONE,
            ExportStatus.DONE,
            ExportStatus.QUEUED,
        ]

    def test_a_job_that_waited_an_hour_is_built_not_failed(
        self, sam, dataset, export_dir, later, broker_down, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            job = services.request_export(actor=sam, format="csv", deidentified=True, filters={})
        later(60)

        assert sweep() == 1

        job.refresh_from_db()
        assert job.status == ExportStatus.DONE and job.error == ""
