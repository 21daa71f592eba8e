"""The server half of bench/chat.py: the real app in a uvicorn process, with a bare endpoint
beside it and a middleware that times every request on the server side.

    python bench/chat_server.py PORT DATABASE_URL   (bench/chat.py starts it)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1] / "backend"
sys.path.insert(0, str(BACKEND))
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

_samples: dict[str, list[float]] = defaultdict(list)


class ServerTiming:
    """Records, per request kind, the server time to the last body byte, and for streams
    the time to the first `token` event."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/bench/stats"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if scope["path"] == "/bench/bare":
            kind = "bare"
        elif b"text/event-stream" in headers.get(b"accept", b""):
            kind = "stream"
        else:
            kind = "turn"
        start = time.perf_counter()
        seen_token = False

        async def timed_send(message):
            nonlocal seen_token
            if message["type"] == "http.response.body":
                if not seen_token and b"event: token" in message.get("body", b""):
                    seen_token = True
                    _samples[f"{kind}_ttft"].append(time.perf_counter() - start)
                if not message.get("more_body"):
                    _samples[kind].append(time.perf_counter() - start)
            await send(message)

        await self.app(scope, receive, timed_send)


def serve(database_url: str, port: int) -> None:
    import uvicorn
    from fastapi import Body

    from agent.llm.fake import FakeLLM
    from app.core.config import Settings
    from app.core.runtime import Runtime
    from app.main import create_app

    settings = Settings(
        _env_file=None,
        database_url=database_url,
        data_dir=Path(tempfile.mkdtemp()),
        log_level="WARNING",
        secret_key="bench-" + "x" * 40,
    )
    runtime = Runtime(settings)
    runtime.agent.llm = FakeLLM()
    app = create_app(runtime=runtime)

    @app.post("/bench/bare", include_in_schema=False)
    async def bare(body: dict = Body(...)) -> dict:
        return {"ok": True, "echo": len(body)}

    @app.get("/bench/stats", include_in_schema=False)
    async def stats() -> dict:
        out = {k: list(v) for k, v in _samples.items()}
        _samples.clear()
        return out

    app.add_middleware(ServerTiming)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    serve(sys.argv[2], int(sys.argv[1]))
