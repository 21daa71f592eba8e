"""A scriptable fake of Gemini's generateContent and streamGenerateContent endpoints.

The real google-genai SDK is pointed at it. google-genai 3.4 calls
`/v1/models/{model}:generateContent` and `/v1/models/{model}:streamGenerateContent?alt=sse`
(its default API version is `v1`); `v1beta` is accepted too, as older SDKs use it.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

ROUTE = r"/v1(?:beta)?/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)"


class FakeGeminiChat:
    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.reset()
        server.route("POST", ROUTE)(self._handle)

    def reset(self) -> None:
        """Forget the script and the recorded calls, so one server can serve many tests."""
        self.calls: list[RecordedRequest] = []
        self.answer = "Refunds are accepted within 30 days [1]."
        self.prompt_tokens = 120
        self.delay = 0.0
        self._failures: deque[int] = deque()
        self._fail_forever: int | None = None
        self._retry_after: str | None = None
        self._prompt_block: str | None = None
        self._answer_block = False
        self._fail_mid_stream = False

    # --- scripting -------------------------------------------------------------------
    def fail(self, status: int, times: int = 1, *, retry_after: str | None = None) -> None:
        """Answer `status` for the next `times` calls, then succeed."""
        self._failures.extend([status] * times)
        self._retry_after = retry_after

    def fail_forever(self, status: int) -> None:
        self._fail_forever = status

    def block_prompt(self, reason: str = "SAFETY") -> None:
        self._prompt_block = reason

    def block_answer(self) -> None:
        """Start answering, then stop with finishReason SAFETY."""
        self._answer_block = True

    def fail_mid_stream(self) -> None:
        """Stream the first word, then an in-stream error, as Gemini does on a mid-answer 500."""
        self._fail_mid_stream = True

    # --- what the SDK sent -----------------------------------------------------------
    def last_prompt_text(self) -> str:
        """All text the model was given: system instruction and every turn."""
        body = self.calls[-1].json()
        parts = [p for c in body.get("contents", []) for p in c["parts"]]
        parts += body.get("systemInstruction", {}).get("parts", [])
        return "\n".join(p.get("text", "") for p in parts)

    # --- serving ---------------------------------------------------------------------
    def _handle(self, req: RecordedRequest) -> FakeResponse:
        self.calls.append(req)
        status = self._failures.popleft() if self._failures else self._fail_forever
        if status is not None:
            return self._error(status)
        streaming = req.match is not None and req.match["method"] == "streamGenerateContent"
        pieces = self._pieces()
        if not streaming:
            return FakeResponse(200, json.dumps(_merge(pieces)).encode(), _JSON, delay=self.delay)
        if self._fail_mid_stream:
            error = {"code": 500, "message": "backend broke", "status": "INTERNAL"}
            pieces = [pieces[0], {"error": error}]
        body = [b"data: " + json.dumps(p).encode() + b"\r\n\r\n" for p in pieces]
        return FakeResponse(200, body, {"Content-Type": "text/event-stream"}, delay=self.delay)

    def _error(self, status: int) -> FakeResponse:
        headers = {"Retry-After": self._retry_after} if self._retry_after and status == 429 else {}
        error = {"code": status, "message": f"upstream secret {status}", "status": "ERR"}
        return FakeResponse.json({"error": error}, status, **headers)

    def _pieces(self) -> list[dict[str, Any]]:
        if self._prompt_block:
            feedback = {"blockReason": self._prompt_block}
            return [{"promptFeedback": feedback, "usageMetadata": self._usage(0)}]
        words = self.answer.split(" ")
        deltas = [w + " " for w in words[:-1]] + [words[-1]]
        pieces = [_candidate(d) for d in deltas]
        last = pieces[-1]["candidates"][0]
        last["finishReason"] = "SAFETY" if self._answer_block else "STOP"
        pieces[-1]["usageMetadata"] = self._usage(len(words))
        return pieces

    def _usage(self, completion: int) -> dict[str, int]:
        return {"promptTokenCount": self.prompt_tokens, "candidatesTokenCount": completion}


_JSON = {"Content-Type": "application/json"}


def _candidate(text: str) -> dict[str, Any]:
    return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}]}


def _merge(pieces: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-streaming response: the streamed pieces as one."""
    merged = json.loads(json.dumps(pieces[-1]))
    if "candidates" in merged:
        text = "".join(p["candidates"][0]["content"]["parts"][0]["text"] for p in pieces)
        merged["candidates"][0]["content"]["parts"] = [{"text": text}]
    return merged
