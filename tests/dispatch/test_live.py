"""Live updates (dispatch.live, dispatch.consumers): a change tells the open pages of its
agency, after it commits, through the real channel layer (Redis in the tests, as in
production); the socket is refused to anyone outside an agency."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from casebook.asgi import application
from dispatch import live, services


class WebsocketCommunicator(ApplicationCommunicator):
    """A WebSocket client for an ASGI application, as channels.testing's (which cannot be
    imported without daphne, a server casebook does not use)."""

    def __init__(self, app, path, headers):
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        super().__init__(app, scope)

    async def connect(self, timeout=2):
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, None

    async def send_to(self, text_data):
        await self.send_input({"type": "websocket.receive", "text": text_data})

    async def receive_from(self, timeout=2):
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send", response
        return response["text"]

    async def disconnect(self, code=1000, timeout=2):
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


# The consumer reads the session and the user from another thread's connection: the test
# data must be committed.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def headers_for(client, user, origin=b"http://testserver"):
    """The headers of a browser signed in as `user` (its session cookie)."""
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    return [(b"cookie", cookie.encode()), (b"origin", origin)]


def run(scenario):
    """Run an async scenario to its end in one event loop; its sync steps (the services)
    run in this thread, on the test's database connection (sync_to_async)."""
    async_to_sync(scenario)()


def sync(function, *args, **kwargs):
    return sync_to_async(function)(*args, **kwargs)


async def opened(headers, path="/ws/dispatch/"):
    socket = WebsocketCommunicator(application, path, headers)
    connected, code = await socket.connect()
    assert connected, code
    return socket


async def refused(headers):
    socket = WebsocketCommunicator(application, "/ws/dispatch/", headers)
    return await socket.connect()


class TestSocket:
    def test_a_dispatcher_hears_a_new_request(self, client, dex, new_request):
        headers = headers_for(client, dex)

        async def scenario():
            socket = await opened(headers)
            await sync(new_request)
            assert await socket.receive_from() == live.SIGNAL
            await socket.disconnect()

        run(scenario)

    def test_the_team_hears_its_assignment(self, client, alice, dex, new_request, on_shift):
        request = new_request()
        headers = headers_for(client, alice)

        async def scenario():
            socket = await opened(headers)
            await sync(services.assign_unit, request=request, unit=on_shift, actor=dex)
            assert await socket.receive_from() == live.SIGNAL
            await socket.disconnect()

        run(scenario)

    def test_another_agency_hears_nothing(self, client, bea, new_request):
        headers = headers_for(client, bea)

        async def scenario():
            socket = await opened(headers)
            await sync(new_request)
            assert await socket.receive_nothing(0.5)
            await socket.disconnect()

        run(scenario)

    def test_nothing_is_told_before_the_change_commits(self, client, dex, new_request):
        headers = headers_for(client, dex)

        def in_a_transaction(socket_checks):
            with transaction.atomic():
                new_request()
                async_to_sync(socket_checks)()

        async def scenario():
            socket = await opened(headers)

            async def not_yet():
                assert await socket.receive_nothing(0.5)

            await sync(in_a_transaction, not_yet)
            assert await socket.receive_from() == live.SIGNAL
            await socket.disconnect()

        run(scenario)

    def test_a_rolled_back_change_tells_nothing(self, client, dex, new_request):
        headers = headers_for(client, dex)

        def fails():
            with pytest.raises(RuntimeError), transaction.atomic():
                new_request()
                raise RuntimeError("the change fails")

        async def scenario():
            socket = await opened(headers)
            await sync(fails)
            assert await socket.receive_nothing(0.5)
            await socket.disconnect()

        run(scenario)

    def test_several_changes_in_one_transaction_are_one_signal(
        self, client, dex, new_request, on_shift
    ):
        headers = headers_for(client, dex)

        def record_and_assign():
            with transaction.atomic():
                request = new_request()
                services.assign_unit(request=request, unit=on_shift, actor=dex)

        async def scenario():
            socket = await opened(headers)
            await sync(record_and_assign)
            assert await socket.receive_from() == live.SIGNAL
            assert await socket.receive_nothing(0.5)
            await socket.disconnect()

        run(scenario)

    def test_a_shared_position_reaches_the_boards_only(self, client, dex, alice, on_shift):
        services.set_position_sharing(unit=on_shift, actor=alice, shares=True)
        board_headers = headers_for(client, dex)
        phone_headers = headers_for(Client(), alice)  # a second browser

        async def scenario():
            board = await opened(board_headers, "/ws/dispatch/board/")
            phone = await opened(phone_headers)
            await sync(
                services.record_position,
                unit=on_shift,
                actor=alice,
                latitude="44.05",
                longitude="-123.09",
            )
            assert await board.receive_from() == live.SIGNAL
            assert await phone.receive_nothing(0.5)
            await board.disconnect()
            await phone.disconnect()

        run(scenario)

    def test_a_board_hears_every_change_once(self, client, dex, new_request):
        headers = headers_for(client, dex)

        async def scenario():
            board = await opened(headers, "/ws/dispatch/board/")
            await sync(new_request)
            assert await board.receive_from() == live.SIGNAL
            assert await board.receive_nothing(0.5)
            await board.disconnect()

        run(scenario)

    def test_what_the_page_sends_does_nothing(self, client, dex):
        headers = headers_for(client, dex)

        async def scenario():
            socket = await opened(headers)
            await socket.send_to('{"HEADERS": {}, "anything": "at all"}')
            assert await socket.receive_nothing(0.5)
            await socket.disconnect()

        run(scenario)


class TestRefused:
    def test_signed_out(self):
        async def scenario():
            assert await refused([(b"origin", b"http://testserver")]) == (False, 4403)

        run(scenario)

    def test_a_system_admin(self, client, root):
        headers = headers_for(client, root)

        async def scenario():
            assert await refused(headers) == (False, 4403)

        run(scenario)

    def test_another_origin(self, client, dex):
        headers = headers_for(client, dex, origin=b"https://evil.example")

        async def scenario():
            assert (await refused(headers))[0] is False

        run(scenario)
