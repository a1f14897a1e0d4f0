"""The caseload page under load: 50 signed-in workers on 2 gunicorn workers, against a
bare Django view served the same way.

Usage: .venv/bin/python bench/load.py [--scale 1000000] [--users 50] [--seconds 60]
(`make bench` runs it after bench/scale.py, whose database it uses.)

Serves BENCH_DATABASE_URL's "_scale_<N>" database (grown by bench/scale.py) with gunicorn
on 127.0.0.1 only (production settings, throwaway secrets, `--workers 2`), and drives it
with locust, headless and bounded in time: --users workers of the scale's busiest teams,
each signed in with a session made here, loading their caseload with a pause of 0.5-1.5 s
between requests. Then the same for a bare Django view (bench/bare_urls.py: same
gunicorn, settings and middleware, no database read). Prints requests per second, the
median and p95 of each, and their ratio. Locust comes from requirements-bench.txt.
"""

import argparse
import csv
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PORT = 8765


def database_url(scale: int) -> str:
    base = urlsplit(
        os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/casebook_bench")
    )
    return urlunsplit(base._replace(path=f"{base.path.rstrip('/')}_scale_{scale}"))


def production_env(scale: int, settings: str = "casebook.settings.prod") -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(scale),
        "REDIS_URL": os.environ.get("BENCH_LOAD_REDIS_URL", "redis://127.0.0.1:6379/5"),
        # Sessions are made here, with no second factor: the page is measured, not sign-in.
        "MFA_REQUIRED": "false",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CASEBOOK_TEST_LANE", None)
    return env


def make_sessions(env: dict[str, str], users: int) -> list[str]:
    """One signed-in session for each of `users` workers of the busiest teams."""
    script = f"""
import django
django.setup()
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.conf import settings
from django.db.models import Count
from accounts.models import Role, User
workers = (User.objects.filter(role=Role.SOCIAL_WORKER, team__cases__status="open")
           .annotate(n=Count("team__cases")).order_by("-n", "pk")[:{users}])
for user in workers:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    print(session.session_key)
"""
    run = subprocess.run(  # noqa: S603  # nosec B603: our own interpreter and script
        [sys.executable, "-c", script], env=env, check=True, stdout=subprocess.PIPE, text=True
    )
    return run.stdout.split()


def serve(env: dict[str, str], workers: int) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "casebook.wsgi",
        "--bind",
        f"127.0.0.1:{PORT}",
        "--workers",
        str(workers),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603  # nosec B603
    time.sleep(4)
    return server


def swarm(path: str, sessions: list[str], users: int, seconds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "run"
        command = [
            str(Path(sys.executable).with_name("locust")),
            "--locustfile",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--host",
            f"http://127.0.0.1:{PORT}",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        env = {
            **os.environ,
            "BENCH_LOAD_SESSIONS": "\n".join(sessions),
            "BENCH_LOAD_PATH": path,
        }
        subprocess.run(command, env=env, check=False, stdout=subprocess.DEVNULL)  # noqa: S603  # nosec B603
        with open(f"{prefix}_stats.csv", newline="") as stats:
            row = next(r for r in csv.DictReader(stats) if r["Name"] == path)
    return {
        "requests": float(row["Request Count"]),
        "failures": float(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
    }


def measure(path: str, env: dict[str, str], sessions, args) -> dict[str, float]:
    server = serve(env, args.workers)
    try:
        return swarm(path, sessions, args.users, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=int, default=int(os.environ.get("BENCH_LOAD_SCALE", 100000))
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    env = production_env(args.scale)
    # Production serves hashed static files from the manifest collectstatic writes.
    subprocess.run(  # noqa: S603  # nosec B603: our own interpreter and manage.py
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--no-input", "-v0"],
        env=env,
        check=True,
    )
    sessions = make_sessions(env, args.users)
    if not sessions:
        sys.exit(
            f"No worker with open cases in {database_url(args.scale)}: run bench/scale.py first."
        )
    page = measure("/cases/", env, sessions, args)
    bare = measure("/bare/", production_env(args.scale, "bench.bare_settings"), sessions, args)
    print(
        f"{args.users} users, {args.workers} gunicorn workers, {args.seconds} s each, "
        f"{args.scale:,} cases; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':<22}{'requests':>10}{'failed':>8}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}")
    for name, figures in (("caseload /cases/", page), ("bare Django view", bare)):
        print(
            f"{name:<22}{figures['requests']:>10.0f}{figures['failures']:>8.0f}"
            f"{figures['rps']:>8.1f}{figures['p50']:>8.0f}{figures['p95']:>8.0f}"
        )
    print(
        f"caseload p95 {page['p95']:.0f} ms (target < 100); its median is"
        f" {page['p50'] / max(bare['p50'], 1):.1f}x the bare view's, its requests per second"
        f" {page['rps'] / max(bare['rps'], 0.1):.2f}x (the users pause 0.5-1.5 s between"
        " requests: a server that keeps up serves them all)"
    )
    return 1 if page["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
