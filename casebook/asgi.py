"""casebook over ASGI: the pages as in casebook/wsgi.py, and the WebSockets of the live
dispatch pages (dispatch/routing.py), signed in with the same session cookie and refused
from another origin."""

import os
import warnings

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casebook.settings.dev")
# Over ASGI, Django runs each request's synchronous code in a thread of its own: a
# database connection kept open after the request would stay with a thread that is gone.
# So this process closes its connections at the end of each request (settings/base.py
# reads CONN_MAX_AGE), unless told otherwise.
# (Not where the settings are already loaded, as in the tests, which set it themselves.)
if not settings.configured:
    os.environ.setdefault("CONN_MAX_AGE", "0")

# WhiteNoise answers static files with a file iterator, which Django's ASGI handler reads
# in a thread: right, and said once per file unless silenced.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)

# Django is set up before anything imports a model.
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from dispatch.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
