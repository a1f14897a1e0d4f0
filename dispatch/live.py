"""Live updates of the dispatch pages (the board, the team's phone) through Django
Channels: every change tells its agency's group, once its transaction commits; each open
page is a WebSocket in that group (dispatch.consumers) and, told, fetches its panels again
through the access-checked views. The message names nothing: what a page shows is
decided where it always is.

A page that loses its connection says so and, once connected again, catches up at once;
every CATCH_UP_SECONDS it also fetches its panels unasked, which is how a change made
where the channel layer does not reach (the in-process layer of the embedded default
does not span the Celery worker's process) still arrives."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

CATCH_UP_SECONDS = 15
# What the consumer sends: an element htmx's WebSocket extension swaps out of band; the
# pages' panels refresh on the message (templates/dispatch/_live.html).
SIGNAL = '<div id="dispatch-live" hx-swap-oob="true"></div>'


def group_for(agency_id: int) -> str:
    return f"dispatch.agency.{agency_id}"


def announce(agency_id: int) -> None:
    """Tell the agency's open dispatch pages that something changed, after the current
    transaction commits (at once outside one). Several changes in one transaction send
    one message."""
    connection = transaction.get_connection()
    pending = getattr(connection, "_dispatch_live_pending", None)
    if pending is None or not connection.in_atomic_block:
        pending = connection._dispatch_live_pending = set()
    if agency_id in pending:
        return
    pending.add(agency_id)
    transaction.on_commit(lambda: _send(agency_id, pending))


def _send(agency_id: int, pending: set[int]) -> None:
    pending.discard(agency_id)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_for(agency_id), {"type": "dispatch.changed"})
    except Exception:  # the change is saved; the pages catch up by themselves
        logger.warning("The dispatch pages of agency %s could not be told of a change", agency_id)
