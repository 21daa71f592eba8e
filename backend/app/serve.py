"""Serve the API: `python -m app.serve` (Docker's command; `make run` uses it too).

`WEB_CONCURRENCY` API processes share the port. With more than one, Prometheus runs in
multiprocess mode over a directory under DATA_DIR (cleaned at start), so `/metrics`
answers for all of them whichever process serves the scrape.
"""

from __future__ import annotations

import os
import shutil

import uvicorn

from app.core.config import get_settings


def main() -> None:
    settings = get_settings()
    if settings.web_concurrency > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        directory = settings.data_dir / "prometheus"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)  # inherited by the workers
    uvicorn.run(
        "main:app",
        host=settings.host,
        port=settings.port,
        workers=settings.web_concurrency,
        loop="uvloop",
        http="httptools",
        access_log=False,  # ours carries the request id (app.core.middleware)
        proxy_headers=True,
        # Only these peers may set the client address with X-Forwarded-For.
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


if __name__ == "__main__":
    main()
