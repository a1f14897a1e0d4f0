from celery import shared_task


@shared_task
def fail_stalled_exports():
    return 0
