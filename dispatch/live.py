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


def group_for(agency_id: int, *, boards: bool = False) -> str:
    """The agency's group of every live page, or of its boards only."""
    return f"dispatch.{'boards' if boards else 'agency'}.{agency_id}"


def announce(agency_id: int, *, boards_only: bool = False) -> None:
    """Tell the agency's open dispatch pages that something changed, after the current
    transaction commits (at once outside one): all of them, or only the boards
    (`boards_only`: a unit's shared position, which only the board shows, arrives from
    every unit every 30 seconds). Several changes in one transaction send one message."""
    connection = transaction.get_connection()
    pending = getattr(connection, "_dispatch_live_pending", None)
    if pending is None or not connection.in_atomic_block:
        pending = connection._dispatch_live_pending = set()
    group = group_for(agency_id, boards=boards_only)
    if group in pending:
        return
    pending.add(group)
    transaction.on_commit(lambda: _send(group, pending))


def _send(group: str, pending: set[str]) -> None:
    pending.discard(group)
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "dispatch.changed"})
    except Exception:  # the change is saved; the pages catch up by themselves
        logger.warning("The live dispatch pages (%s) could not be told of a change", group)
