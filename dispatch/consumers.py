"""The WebSocket of a live dispatch page (dispatch.live): joins its agency's group and
passes each change on as a signal; it carries no data."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from dispatch import live
from dispatch.models import agency_seen_by


@database_sync_to_async
def _agency_of(user) -> int | None:
    """The agency whose changes the user's pages follow: the one whose units they see."""
    return agency_seen_by(user) if user.is_active else None


class DispatchConsumer(AsyncWebsocketConsumer):
    """/ws/dispatch/ (a team's phone: every change) or /ws/dispatch/board/ (the board:
    also the units' shared positions)."""

    groups_joined: list[str] = []

    async def connect(self) -> None:
        agency_id = await _agency_of(self.scope["user"])
        if agency_id is None:
            await self.close(code=4403)
            return
        board = self.scope["url_route"]["kwargs"].get("page") == "board"
        self.groups_joined = [live.group_for(agency_id)]
        if board:
            self.groups_joined.append(live.group_for(agency_id, boards=True))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The pages only listen: what they send is ignored (htmx's extension may send
        a form's values on a trigger; nothing here acts on them)."""

    async def dispatch_changed(self, event: dict) -> None:
        await self.send(text_data=live.SIGNAL)
