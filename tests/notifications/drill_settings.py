"""Settings for the Celery workers that the real-process drills start
(tests/followups/test_resilience.py): the test settings, with each email written to a
file in CASEBOOK_DRILL_MAIL_DIR, where the test counts what went out."""

import os

from casebook.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["CASEBOOK_DRILL_MAIL_DIR"]
