"""`make run`: the API and its Celery worker (with the periodic sweep) as one command.

Ctrl-C, SIGTERM, or either child exiting stops everything this started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from app.core.config import get_settings


def _commands() -> list[list[str]]:
    settings = get_settings()
    settings.prepare_data_dir()
    python = sys.executable
    api = [python, "-m", "app.serve"]
    worker = [
        python,
        "-m",
        "celery",
        "-A",
        "worker",
        "worker",
        "--beat",
        "--schedule",
        str(settings.data_dir / "celerybeat-schedule"),
        "--loglevel",
        "INFO",
        "--concurrency",
        os.environ.get("WORKER_CONCURRENCY", "2"),
    ]
    return [api, worker]


def _die_with_parent() -> None:
    """Linux: children get SIGTERM if this supervisor dies without cleaning up."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> int:
    children = [subprocess.Popen(cmd, preexec_fn=_die_with_parent) for cmd in _commands()]
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.3)
    finally:
        _stop(children)
    failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
    return 1 if failed and not stopping else 0


if __name__ == "__main__":
    raise SystemExit(main())
