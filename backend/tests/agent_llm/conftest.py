from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.llm.gemini import GeminiLLM, RetryPolicy
from agent.settings import AgentSettings
from tests.fakes.gemini_chat import FakeGeminiChat
from tests.fakes.server import FakeServer

# Short enough that the timeout test stays fast, long enough for a loaded CI machine.
LLM_TIMEOUT_SECONDS = 0.3
FAST_RETRIES = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05)


@pytest.fixture(scope="session")
def _gemini_session_server() -> Iterator[FakeGeminiChat]:
    # One server for the session: stopping a server costs ~0.5 s (its poll interval).
    with FakeServer() as server:
        yield FakeGeminiChat(server)


@pytest.fixture
def gemini_server(_gemini_session_server: FakeGeminiChat) -> FakeGeminiChat:
    _gemini_session_server.reset()
    return _gemini_session_server


@pytest.fixture
def gemini_llm(gemini_server: FakeGeminiChat) -> GeminiLLM:
    settings = AgentSettings(
        gemini_api_key="test-key",
        gemini_base_url=gemini_server.server.url,
        llm_timeout_seconds=LLM_TIMEOUT_SECONDS,
    )
    return GeminiLLM(settings, retry=FAST_RETRIES)
