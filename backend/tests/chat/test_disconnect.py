"""A client that goes away mid-stream stops generation and leaves an interrupted partial answer.

The ASGI app is driven directly, so the test decides when the client disconnects: either
the server learns it from an `http.disconnect` message, or its next send fails. A slow
fake Gemini (one word per 0.1 s) gives the stream time to be cut.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.main import create_app
from tests.chat.conftest import create_bot, history, start_conversation

WORDS = 40
DELAY = 0.1


@pytest.fixture(autouse=True)
def _slow_gemini(gemini_settings, gemini):
    gemini.answer = " ".join(f"word{n}" for n in range(WORDS))
    gemini.delay = DELAY


def http_scope(path: str, headers: dict[str, str]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


class Client:
    """Reads the stream until `tokens` token events arrived, then goes away."""

    def __init__(self, body: dict, tokens: int, *, failing_send: bool) -> None:
        self.body = json.dumps(body).encode()
        self.tokens = tokens
        self.failing_send = failing_send
        self.received = b""
        self.gone = asyncio.Event()
        self._body_sent = False

    async def receive(self) -> dict:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if self.failing_send:  # the server only notices when it next writes
            await asyncio.Event().wait()
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        if self.gone.is_set() and self.failing_send:
            raise OSError("connection reset by peer")
        if message["type"] == "http.response.body":
            self.received += message.get("body", b"")
        if self.received.count(b"event: token") >= self.tokens:
            self.gone.set()


@pytest.mark.parametrize("failing_send", [False, True], ids=["disconnect-message", "send-fails"])
async def test_disconnect_stores_an_interrupted_partial_answer(
    live_runtime, live_client, make_live_user, gemini, failing_send
):
    owner = await make_live_user()
    bot = await create_bot(live_client, owner, agent_type="chat")
    conversation = await start_conversation(live_client, owner, bot["id"])
    app = create_app(runtime=live_runtime)
    path = f"/api/v1/conversations/{conversation['id']}/messages"
    headers = {**owner, "content-type": "application/json", "host": "testserver"}
    client = Client(
        {"content": "Tell me a long story", "stream": True}, 3, failing_send=failing_send
    )

    started = time.perf_counter()
    await asyncio.wait_for(app(http_scope(path, headers), client.receive, client.send), 10)
    elapsed = time.perf_counter() - started

    # Generation stopped: the whole answer would take WORDS * DELAY seconds.
    assert elapsed < WORDS * DELAY / 2
    question, answer = await history(live_client, owner, conversation["id"])
    assert question["content"] == "Tell me a long story"
    assert answer["status"] == "interrupted" and answer["error_code"] is None
    assert answer["content"].startswith("word0 word1 word2")
    assert len(answer["content"].split()) < WORDS
    assert b"event: done" not in client.received
