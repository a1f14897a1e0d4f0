"""Export work for the Celery worker: thin, idempotent, taking ids."""

from celery import shared_task

from reports import services


@shared_task
def build_export(job_id: int):
    """Build one export job's file (a second delivery finds it claimed and does nothing)."""
    services.build_export(job_id=job_id)


@shared_task
def sweep_exports() -> int:
    """Beat runs this every minute: jobs that started and show no sign of life for 10
    minutes are marked failed, export files older than 7 days are deleted, and queued
    jobs that no worker took (a hand-off lost while the broker was down) are built.
    Returns how many were built."""
    services.fail_stalled_exports()
    services.delete_old_export_files()
    return services.build_waiting_exports()


@shared_task
def fail_stalled_exports() -> int:
    """The export sweep under the name beat used before it also built waiting jobs, so
    that a message sent under that name still runs it."""
    return sweep_exports()
