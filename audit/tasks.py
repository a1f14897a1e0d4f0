"""The audit trail's upkeep for the Celery worker (audit/partitions.py)."""

from celery import shared_task

from audit import partitions


@shared_task
def top_up_partitions() -> list[str]:
    """Beat runs this daily: create the audit trail's partitions MONTHS_AHEAD months ahead
    when the worker connects as the owner of the table; otherwise (the application's role)
    only check, logging an error when few months are left or events wait in the DEFAULT
    partition. Idempotent; returns the partitions created."""
    return partitions.top_up()
