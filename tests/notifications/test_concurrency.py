"""Two delivery sweeps at once on PostgreSQL (SELECT ... FOR UPDATE SKIP LOCKED) send
every queued message exactly once."""

import datetime
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from notifications import services, tasks
from notifications.models import Channel, DeliveryStatus, Kind, Notification


class SlowSMSBackend:
    """Takes a while per text, so that two sweeps overlap."""

    sent: list[str] = []
    lock = threading.Lock()

    def send(self, to, text):
        time.sleep(0.02)
        with self.lock:
            SlowSMSBackend.sent.append(to)


# serialized_rollback like every transactional test here: a flush without it recreates
# the content types, which the next serialized test would then load twice.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_send_each_message_once(settings, alice):
    settings.SMS_BACKEND = "tests.notifications.test_concurrency.SlowSMSBackend"
    SlowSMSBackend.sent = []
    later = timezone.now() + datetime.timedelta(minutes=5)
    for n in range(30):
        services.notify(
            agency_id=alice.agency_id,
            kind=Kind.CLIENT_REMINDER,
            channel=Channel.TEXT,
            dedupe_key=f"concurrency:{n}",
            address=f"541-555-{n:04d}",
            subject="A reminder",
            body="Hi",
            not_before=later,  # the on-commit hand-off finds it not yet due
        )
    assert SlowSMSBackend.sent == []
    counts = []
    start = threading.Barrier(2)

    def sweeper():
        try:
            start.wait()
            counts.append(tasks.sweep())
        finally:
            connection.close()

    with time_machine.travel(later + datetime.timedelta(seconds=1)):
        threads = [threading.Thread(target=sweeper) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sum(counts) == 30
    assert all(count > 0 for count in counts), counts  # both took part
    assert sorted(SlowSMSBackend.sent) == sorted(f"541-555-{n:04d}" for n in range(30))
    assert set(Notification.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert set(Notification.objects.values_list("tries", flat=True)) == {1}
