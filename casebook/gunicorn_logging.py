"""Access logs without client data or secrets: gunicorn's (gunicorn.conf.py names the
logger) and the development server's line (django.server, settings.LOGGING).

A query string can hold what a worker typed to find a person (`?legal_name=…&phone=…`),
a provider link's path and a client's safety plan link's hold the token that opens them,
and the Referer header holds both again: the access log keeps the route only, the token
cut to the link's public id as the audit trail has it (`/p/<public id>.***/`,
`/s/<public id>.***/`), and no header or environment atom but the user agent. Loaded by
the gunicorn master before Django: it imports no Django code.
"""

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

# referrals/provider_urls.py: /p/<public id>.<secret>/, and plans/public_urls.py:
# /s/<public id>.<secret>/ (any text reaches either view).
TOKEN_LINK = re.compile(r"^/(?P<prefix>[ps])/(?P<token>.+)$", re.DOTALL)
PUBLIC_ID = re.compile(r"^[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")
REDACTED = "***"
# Atoms that carry nothing typed by a user nor any secret.
KEPT_ATOMS = ("h", "l", "u", "t", "s", "m", "H", "b", "B", "a", "T", "D", "M", "L", "p")


def without_token(path: str) -> str:
    """`path` with a provider's or a client's link token cut to its public id."""
    match = TOKEN_LINK.match(path)
    if not match:
        return path
    public_id, dot, _ = match["token"].partition(".")
    kept = f"{public_id}.{REDACTED}" if dot and PUBLIC_ID.match(public_id) else REDACTED
    return f"/{match['prefix']}/{kept}/"


def loggable_path(target: str) -> str:
    """The path of a request target as the log keeps it: no query string, no fragment,
    a link's token cut to its public id, no control characters."""
    path = without_token(urlsplit(target or "").path or "/")
    # A decoded path can hold a newline (%0A): it must not start a forged log line.
    return path.encode("unicode_escape").decode("ascii")


class RedactingLogger(Logger):
    """gunicorn's logger whose access-log atoms hold routes, never query strings, tokens
    or headers. `%(r)s`, `%(U)s` and `%(f)s` (the Referer) are cut to their paths; `%(q)s`
    and every `%({name}i)s`, `%({name}o)s` and `%({name}e)s` atom are left empty."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        full = super().atoms(resp, req, environ, request_time)
        atoms = {name: full[name] for name in KEPT_ATOMS if name in full}
        path = loggable_path(environ.get("RAW_URI") or environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "-")
        atoms["r"] = f"{method} {path} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["U"] = loggable_path(environ.get("PATH_INFO", ""))
        atoms["q"] = ""
        referer = environ.get("HTTP_REFERER")
        atoms["f"] = loggable_path(referer) if referer else "-"
        return atoms


class RouteOnlyRequestLine(logging.Filter):
    """The development server's access line (django.server, `make run`'s web.log) with
    the request line cut as gunicorn's is: '"GET /cases/clients/ HTTP/1.1" 200 512'."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            words = str(record.args[0]).split(" ")
            if len(words) == 3:
                line = f"{words[0]} {loggable_path(words[1])} {words[2]}"
            else:
                line = "(request line left out)"
            record.args = (line, *record.args[1:])
        return True
