"""Users of bench/load.py: each signs in with a session made for it (BENCH_LOAD_SESSIONS,
one session key per line) and loads LOAD_PATH with a short pause between requests."""

import itertools
import os
import threading

from locust import HttpUser, between, task

_lock = threading.Lock()
_sessions = itertools.cycle(os.environ["BENCH_LOAD_SESSIONS"].split())
PATH = os.environ.get("BENCH_LOAD_PATH", "/cases/")


class Worker(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        with _lock:
            key = next(_sessions)
        self.client.cookies.set("__Host-sessionid", key)
        # As the TLS-terminating proxy in front of gunicorn says it.
        self.client.headers["X-Forwarded-Proto"] = "https"

    @task
    def page(self):
        with self.client.get(PATH, name=PATH, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
