"""bench/load.py's baseline: the production settings with one bare view for URLs."""

from casebook.settings.prod import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
