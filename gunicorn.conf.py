"""gunicorn reads this file from the working directory by itself (`gunicorn casebook.wsgi`):
the access log keeps routes only, never query strings nor provider tokens
(casebook/gunicorn_logging.py)."""

logger_class = "casebook.gunicorn_logging.RedactingLogger"
# The combined format, whose request line and Referer the logger cuts to their paths.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
