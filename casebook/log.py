"""Log filters that keep the logs to one line per event (settings.LOGGING wires them)."""

import logging

from django.conf import settings

from casebook.gunicorn_logging import without_token


def _escaped(text: str) -> str:
    # A decoded path can hold a newline (%0A): it must not start a forged log line.
    return text.encode("unicode_escape").decode("ascii")


def _user_id(request) -> str:
    try:
        # request.user is lazy: reading it may load the session, and a log line must
        # never fail the response it describes.
        user_id = getattr(getattr(request, "user", None), "pk", None)
    except Exception:
        return "?"
    return str(user_id) if user_id is not None else "-"


class ClientErrorLine(logging.Filter):
    """A 4xx response logged by Django (django.request) becomes one line, "GET /cases/7/
    404 user=3", with the refusal's reason when the view gave one and no traceback: a
    refused or missing page is an everyday event, not an error to debug. 5xx records pass
    unchanged, traceback and all."""

    def filter(self, record):
        status = getattr(record, "status_code", None)
        request = getattr(record, "request", None)
        if status is None or not 400 <= status < 500 or request is None:
            return True
        # Logging may be configured twice in a process (runserver sets Django up twice,
        # and dictConfig adds a logger's filters again): rewrite a record once.
        if getattr(record, "one_line", False):
            return True
        record.one_line = True
        # A link's token cut to its public id, as the access log has it: a usable link
        # refused for the rate limit answers 429, logged here.
        path = _escaped(without_token(request.path))
        line = f"{request.method} {path} {status} user={_user_id(request)}"
        if record.exc_info and record.exc_info[1] is not None:
            reason = " ".join(str(record.exc_info[1]).split())
            if reason:
                line += f": {_escaped(reason)}"
        record.msg, record.args = line, ()
        record.exc_info = record.exc_text = None
        return True


class SkipLoggedErrors(logging.Filter):
    """The development server's access line for a 4xx or 5xx: django.request has logged
    that response already, with more (the user, the reason). Static files are the
    exception: the development server answers those before Django's handler, which logs
    nothing for them."""

    def filter(self, record):
        if getattr(record, "status_code", 200) < 400:
            return True
        # The server's line is '"GET /static/app.css HTTP/1.1" 404 179': args[0] is the
        # request line.
        words = str(record.args[0]).split() if record.args else []
        return len(words) > 1 and words[1].startswith(settings.STATIC_URL)
