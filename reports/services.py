"""Export jobs: who may ask for which export, asking for one, building it, and sweeping
up jobs no worker started, jobs whose worker died and files past their time.

A job is a row first: asking for one commits the QUEUED row and only then hands its id to
a worker. When that hand-off is lost (the broker down or restarted), the export sweep
finds the row still QUEUED and builds it; both paths claim the job by the same
conditional update, so it is built once. A broker outage delays an export, never fails
it: only a job that started and then stopped showing signs of life is marked failed."""

import datetime
import logging
import shutil
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Agency, User
from audit.models import Action
from audit.services import record as audit
from reports import export_sql
from reports.models import STALLED_MESSAGE, ExportFormat, ExportJob, ExportStatus
from reports.report import can_run_report, referral_rows

log = logging.getLogger(__name__)

IDENTIFIED_PERMISSION = "referrals.export_identified"
STALLED_AFTER = datetime.timedelta(minutes=10)
# How long a queued job waits for its own task before the sweep builds it instead: the
# task normally takes it within seconds.
WAITING_GRACE = datetime.timedelta(minutes=1)
# Jobs one sweep builds, one after another (beat sweeps every minute; sweeps that overlap
# each claim different jobs).
SWEEP_LIMIT = 5
KEEP_FILES_FOR = datetime.timedelta(days=7)


def can_export(user: User, *, deidentified: bool) -> bool:
    """De-identified exports: agency admins and supervisors (those who run the report).
    With names and contact details: only those also granted referrals.export_identified."""
    if not can_run_report(user):
        return False
    return deidentified or user.has_perm(IDENTIFIED_PERMISSION)


def require_export_permission(
    *, request: HttpRequest | None = None, actor: User, deidentified: bool, page: str
) -> None:
    """PermissionDenied, with a DENIED audit row, unless `actor` may make this export.
    Call outside any transaction that the refusal would roll back."""
    if can_export(actor, deidentified=deidentified):
        return
    audit(
        request=request,
        actor=actor,
        action=Action.DENIED,
        object_type=page,
        detail={"reason": "role", "deidentified": deidentified},
    )
    if deidentified or not can_run_report(actor):
        raise PermissionDenied(_("Referral exports are for agency admins and supervisors."))
    raise PermissionDenied(
        _("You may export de-identified rows only (no names or contact details).")
    )


def request_export(
    *,
    actor: User,
    format: str,
    deidentified: bool,
    filters: dict[str, Any],
    request: HttpRequest | None = None,
) -> ExportJob:
    """Queue an export of referral_rows(actor, filters) (validated, JSON-shaped filters),
    audited as an EXPORT; the file is built by tasks.build_export after commit, or by the
    export sweep when that hand-off is lost."""
    if format not in ExportFormat.values:
        raise ValueError(f"Unknown export format {format!r}.")
    require_export_permission(
        request=request, actor=actor, deidentified=deidentified, page="referral_export"
    )
    with transaction.atomic():
        job = ExportJob.objects.create(
            # Those who may export (can_export: report staff) belong to an agency.
            agency_id=cast(int, actor.agency_id),
            requested_by=actor,
            kind="referrals",
            format=format,
            deidentified=deidentified,
            filters=filters,
        )
        audit(
            request=request,
            actor=actor,
            action=Action.EXPORT,
            obj=job,
            detail={
                "kind": "referrals",
                "filters": filters,
                "format": format,
                "deidentified": deidentified,
            },
        )
        _build_after_commit(job.pk)
    return job


def _build_after_commit(job_id: int) -> None:
    from reports.tasks import build_export

    def hand_off() -> None:
        try:
            build_export.delay(job_id)
        except Exception as exc:
            # The job is committed and its requester told it is queued; a broker that is
            # down only delays it: the export sweep builds it (build_waiting_exports).
            log.warning(
                "Export %s left for the sweep: not handed to a worker (%s: %s)",
                job_id,
                type(exc).__name__,
                exc,
            )

    transaction.on_commit(hand_off, robust=True)


def build_export(*, job_id: int) -> ExportJob | None:
    """Build a queued job's file. Claims the job by a conditional update, so a second
    delivery of the same task does nothing. Any error marks the job failed with a one-line
    reason; nothing is raised (a re-raised error would only be retried into the same
    failure)."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        return None
    job = ExportJob.objects.select_related("requested_by__agency").get(pk=job_id)
    folder = Path(settings.EXPORT_DIR) / str(job.pk)
    try:
        path = _write(job, folder)
    except Exception as exc:
        log.exception("Export %s failed", job_id)
        shutil.rmtree(folder, ignore_errors=True)
        reason = (str(exc).strip().splitlines() or [""])[0]
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED,
            error=f"{type(exc).__name__}: {reason}"[:500],
            finished_at=timezone.now(),
        )
    else:
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.DONE,
            file_path=str(path),
            rows_done=job.rows_done,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        log.info("Export %s built: %s rows", job_id, job.rows_done)
    job.refresh_from_db()
    return job


def _write(job: ExportJob, folder: Path) -> Path:
    user = job.requested_by
    # The requester's rights now, not when they asked: a revoked permission stops the job.
    if not can_export(user, deidentified=job.deidentified):
        raise PermissionDenied("The requester may no longer make this export.")
    rows = referral_rows(user, job.filters)
    total = rows.count()
    ExportJob.objects.filter(pk=job.pk).update(rows_total=total)

    def progress(done: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_done=done, heartbeat_at=timezone.now())

    folder.mkdir(parents=True, exist_ok=True)
    kind = "deidentified" if job.deidentified else "identified"
    # Named by the agency's clock: the day and time its people asked for it.
    agency = cast(Agency, user.agency)  # exports are for an agency's staff (can_run_report)
    asked = agency.local(job.created_at)
    path = folder / f"referrals-{kind}-{asked:%Y%m%d-%H%M}.{job.format}"
    writer = export_sql.write_xlsx if job.format == ExportFormat.XLSX else export_sql.write_csv
    job.rows_done = writer(
        path, rows, agency=agency, deidentified=job.deidentified, progress=progress
    )
    return path


def build_waiting_exports(*, now: datetime.datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Build, here and one after another, the queued jobs that no worker has started
    within WAITING_GRACE of being asked for (their task was never handed over, or was lost
    with the broker's queue), oldest first. Each is claimed by build_export's conditional
    update: a job whose own task takes it first is skipped, never built twice. Returns
    how many this call built (finished, whether done or failed)."""
    now = now or timezone.now()
    waiting = ExportJob.objects.filter(
        status=ExportStatus.QUEUED, created_at__lte=now - WAITING_GRACE
    ).order_by("created_at", "pk")
    built = 0
    for job_id in list(waiting.values_list("pk", flat=True)[:limit]):
        if build_export(job_id=job_id) is not None:
            built += 1
    return built


def fail_stalled_exports(*, now: datetime.datetime | None = None) -> int:
    """Mark failed the running jobs with no sign of life for STALLED_AFTER (their worker
    died mid-build); returns how many. A job still queued is not failed, however long it
    has waited: no work of it was lost, and the sweep builds it."""
    now = now or timezone.now()
    cutoff = now - STALLED_AFTER
    return ExportJob.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
        status=ExportStatus.RUNNING,
    ).update(status=ExportStatus.FAILED, error=STALLED_MESSAGE, finished_at=now)


def delete_old_export_files(*, now: datetime.datetime | None = None) -> int:
    """Delete export folders last written more than KEEP_FILES_FOR ago (and any folder
    left by a job that no longer has a row); returns how many folders went."""
    now = now or timezone.now()
    root = Path(settings.EXPORT_DIR)
    if not root.is_dir():
        return 0
    cutoff = (now - KEEP_FILES_FOR).timestamp()
    removed = []
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(int(folder.name))
    if removed:
        ExportJob.objects.filter(pk__in=removed).update(file_path="")
    return len(removed)


def export_file(job: ExportJob) -> Path | None:
    """The finished job's file, if it is still there and inside EXPORT_DIR."""
    if job.status != ExportStatus.DONE or not job.file_path:
        return None
    root = Path(settings.EXPORT_DIR).resolve()
    path = Path(job.file_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
