from typing import Any

from django.urls import path

from dispatch.consumers import DispatchConsumer

# Channels routes ASGI applications with Django's path(), which django-stubs types for views.
websocket_urlpatterns: list[Any] = [
    path("ws/dispatch/", DispatchConsumer.as_asgi()),  # type: ignore[arg-type]
    path("ws/dispatch/<slug:page>/", DispatchConsumer.as_asgi()),  # type: ignore[arg-type]
]
