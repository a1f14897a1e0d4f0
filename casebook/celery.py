"""The Celery application. Workers start with `celery -A casebook worker` (and `beat`).

Configuration comes from Django settings, names prefixed CELERY_. Without a broker URL
the embedded default is kombu's filesystem transport in var/celery (see settings/base.py).
"""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casebook.settings.dev")

app = Celery("casebook")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

FILESYSTEM_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def filesystem_broker_folders(conf) -> list[Path]:
    """The folders the filesystem broker needs, or [] for any other broker."""
    if not str(conf.broker_url or "").startswith("filesystem://"):
        return []
    options = conf.broker_transport_options or {}
    return [Path(options[key]) for key in FILESYSTEM_FOLDERS if options.get(key)]


@app.on_after_configure.connect
def _create_filesystem_broker_folders(sender, **kwargs):
    # The filesystem transport fails on the first message if its folders are missing,
    # in the web process as well as in the worker.
    for folder in filesystem_broker_folders(sender.conf):
        folder.mkdir(parents=True, exist_ok=True)
