"""GeminiLLM through the real google-genai SDK against a local fake Gemini."""

from __future__ import annotations

import pytest

from agent.errors import LLMBlocked, LLMError, LLMRateLimited, LLMTimeout
from agent.llm.gemini import GeminiLLM
from agent.types import ChatMessage, GenerationConfig, StreamChunk, Usage
from tests.agent_llm.conftest import LLM_TIMEOUT_SECONDS

QUESTION = [ChatMessage("user", "What is the refund window?")]
CONFIG = GenerationConfig(temperature=0.4, max_output_tokens=300)


async def collect(llm: GeminiLLM) -> list[StreamChunk]:
    return [c async for c in llm.stream(QUESTION, system="Be brief.", config=CONFIG)]


async def test_generate_returns_answer_and_usage(gemini_llm, gemini_server):
    gemini_server.answer = "Within 30 days [1]."

    result = await gemini_llm.generate(QUESTION, system="Be brief.", config=CONFIG)

    assert result.text == "Within 30 days [1]."
    assert result.usage == Usage(prompt_tokens=120, completion_tokens=4)
    assert result.finish_reason == "stop"


async def test_request_carries_system_history_roles_and_generation_config(
    gemini_llm, gemini_server
):
    history = [
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "hello"),
        ChatMessage("user", "refunds?"),
    ]
    config = GenerationConfig(model="gemini-x")
    await gemini_llm.generate(history, system="Rules here.", config=config)

    call = gemini_server.calls[-1]
    body = call.json()
    assert call.match is not None and call.match["model"] == "gemini-x"
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["systemInstruction"]["parts"][0]["text"] == "Rules here."
    assert body["generationConfig"] == {"temperature": 0.2, "maxOutputTokens": 1024}
    assert call.headers["x-goog-api-key"] == "test-key"


async def test_default_model_comes_from_settings(gemini_llm, gemini_server):
    await gemini_llm.generate(QUESTION, system="", config=CONFIG)

    assert gemini_server.calls[-1].match["model"] == "gemini-2.5-flash"
    assert "systemInstruction" not in gemini_server.calls[-1].json()


async def test_stream_yields_words_then_usage(gemini_llm, gemini_server):
    gemini_server.answer = "Within 30 days [1]."

    chunks = await collect(gemini_llm)

    assert [c.delta for c in chunks[:-1]] == ["Within ", "30 ", "days ", "[1]."]
    assert chunks[-1].usage == Usage(prompt_tokens=120, completion_tokens=4)
    assert chunks[-1].finish_reason == "stop"
    assert gemini_server.calls[-1].query == {"alt": ["sse"]}


async def test_rate_limit_then_success_is_retried(gemini_llm, gemini_server):
    gemini_server.fail(429, times=2)

    result = await gemini_llm.generate(QUESTION, system="", config=CONFIG)

    assert result.text == gemini_server.answer
    assert len(gemini_server.calls) == 3


async def test_persistent_rate_limit_raises_with_retry_after(gemini_llm, gemini_server):
    gemini_server.fail(429, times=5, retry_after="0.01")

    with pytest.raises(LLMRateLimited) as info:
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)

    assert info.value.retry_after == pytest.approx(0.01)
    assert len(gemini_server.calls) == 3  # bounded attempts


async def test_long_retry_after_is_not_waited_for(gemini_llm, gemini_server):
    gemini_server.fail(429, times=1, retry_after="30")

    with pytest.raises(LLMRateLimited) as info:
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)

    assert info.value.retry_after == 30
    assert len(gemini_server.calls) == 1


async def test_server_error_is_retried_then_raised_without_upstream_text(gemini_llm, gemini_server):
    gemini_server.fail_forever(500)

    with pytest.raises(LLMError) as info:
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)

    assert len(gemini_server.calls) == 3
    assert "secret" not in info.value.message
    assert "secret" in (info.value.detail or "")


async def test_bad_request_is_not_retried(gemini_llm, gemini_server):
    gemini_server.fail(400)

    with pytest.raises(LLMError):
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)

    assert len(gemini_server.calls) == 1


async def test_slow_model_raises_timeout(gemini_llm, gemini_server):
    gemini_server.delay = LLM_TIMEOUT_SECONDS * 3

    with pytest.raises(LLMTimeout):
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)
    with pytest.raises(LLMTimeout):
        await collect(gemini_llm)


async def test_blocked_prompt_raises_llm_blocked(gemini_llm, gemini_server):
    gemini_server.block_prompt("SAFETY")

    with pytest.raises(LLMBlocked) as info:
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)
    assert "safety" in info.value.message
    with pytest.raises(LLMBlocked):
        await collect(gemini_llm)
    assert len(gemini_server.calls) == 2  # a refusal is not retried


async def test_answer_stopped_for_safety_raises_llm_blocked(gemini_llm, gemini_server):
    gemini_server.block_answer()

    with pytest.raises(LLMBlocked):
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)


async def test_stream_retries_before_the_first_token(gemini_llm, gemini_server):
    gemini_server.fail(503, times=1)
    gemini_server.answer = "Thirty days."

    chunks = await collect(gemini_llm)

    assert "".join(c.delta for c in chunks) == "Thirty days."
    assert len(gemini_server.calls) == 2


async def test_stream_failure_after_first_token_raises_without_retry(gemini_llm, gemini_server):
    gemini_server.answer = "Thirty days."
    gemini_server.fail_mid_stream()
    received: list[str] = []

    with pytest.raises(LLMError):
        async for chunk in gemini_llm.stream(QUESTION, system="", config=CONFIG):
            received.append(chunk.delta)

    assert received == ["Thirty "]
    assert len(gemini_server.calls) == 1


async def test_empty_answer_is_an_error(gemini_llm, gemini_server):
    gemini_server.answer = ""

    with pytest.raises(LLMError) as info:
        await gemini_llm.generate(QUESTION, system="", config=CONFIG)
    assert info.value.message == "The language model returned an empty answer."
    with pytest.raises(LLMError):
        await collect(gemini_llm)
