"""A fake of Gemini's `:batchEmbedContents` endpoint for the real google-genai SDK.

Vectors are deterministic per text and deliberately not unit length, like
gemini-embedding-001 at reduced dimensions, so callers must normalise.
"""

from __future__ import annotations

import hashlib

import numpy as np

from tests.fakes._scripted import FailureScript
from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

EMBED_PATH = r"/v1(?:beta)?/models/(?P<model>[^/:]+):batchEmbedContents"


def fake_vector(text: str, dimensions: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).standard_normal(dimensions) * 3.0).tolist()


class FakeGeminiEmbeddings(FailureScript):
    def __init__(self, server: FakeServer) -> None:
        super().__init__()
        self.server = server
        self.calls = 0
        self.texts: list[str] = []
        self.batch_sizes: list[int] = []
        self.task_types: list[str] = []
        server.route("POST", EMBED_PATH)(self._embed)

    def _embed(self, request: RecordedRequest) -> FakeResponse:
        self.calls += 1
        if failure := self.next_failure():
            return failure
        items = request.json()["requests"]
        self.batch_sizes.append(len(items))
        embeddings = []
        for item in items:
            text = "".join(part.get("text", "") for part in item["content"]["parts"])
            self.texts.append(text)
            self.task_types.append(item.get("taskType", ""))
            embeddings.append(
                {"values": fake_vector(text, int(item.get("outputDimensionality", 3072)))}
            )
        return FakeResponse.json({"embeddings": embeddings})
