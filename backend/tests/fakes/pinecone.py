"""A fake Pinecone index data plane (REST) for the real `pinecone` SDK.

Vectors live in a dict per namespace; queries are exact cosine. Every upsert body is kept
so tests can check batch sizes and metadata.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

from tests.fakes._scripted import FailureScript
from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest


class FakePineconeIndex(FailureScript):
    def __init__(self, server: FakeServer, dimension: int = 768) -> None:
        super().__init__()
        self.server = server
        self.dimension = dimension
        self.namespaces: dict[str, dict[str, tuple[list[float], dict[str, Any]]]] = {}
        self.upsert_bodies: list[dict[str, Any]] = []
        self._data_lock = threading.Lock()
        for path, handler in [
            ("/vectors/upsert", self._upsert),
            ("/query", self._query),
            ("/vectors/delete", self._delete),
            ("/describe_index_stats", self._stats),
        ]:
            server.route("POST", path)(self._guarded(handler))

    def _guarded(self, handler):
        def run(request: RecordedRequest) -> FakeResponse:
            if failure := self.next_failure():
                return failure
            with self._data_lock:
                return handler(request.json() or {})

        return run

    def _upsert(self, body: dict[str, Any]) -> FakeResponse:
        self.upsert_bodies.append(body)
        if len(body["vectors"]) > 1000:
            return FakeResponse.json({"code": 3, "message": "too many vectors"}, 400)
        space = self.namespaces.setdefault(body.get("namespace", ""), {})
        for vector in body["vectors"]:
            if len(json.dumps(vector.get("metadata", {}))) > 40 * 1024:
                return FakeResponse.json({"code": 3, "message": "metadata too large"}, 400)
            space[vector["id"]] = (vector["values"], vector.get("metadata", {}))
        return FakeResponse.json({"upsertedCount": len(body["vectors"])})

    def _query(self, body: dict[str, Any]) -> FakeResponse:
        namespace = body.get("namespace", "")
        space = self.namespaces.get(namespace, {})
        query = np.asarray(body["vector"], dtype=np.float64)
        scored = []
        for vector_id, (values, metadata) in space.items():
            v = np.asarray(values, dtype=np.float64)
            score = float(v @ query / (np.linalg.norm(v) * np.linalg.norm(query) or 1.0))
            scored.append((score, vector_id, metadata))
        scored.sort(key=lambda s: (-s[0], s[1]))
        matches = [
            {
                "id": vid,
                "score": score,
                **({"metadata": meta} if body.get("includeMetadata") else {}),
            }
            for score, vid, meta in scored[: body["topK"]]
        ]
        return FakeResponse.json({"matches": matches, "namespace": namespace})

    def _delete(self, body: dict[str, Any]) -> FakeResponse:
        namespace = body.get("namespace", "")
        if body.get("deleteAll"):
            # Real Pinecone answers 404 for a namespace that does not exist.
            if namespace not in self.namespaces:
                return FakeResponse.json({"code": 5, "message": "Namespace not found"}, 404)
            del self.namespaces[namespace]
        else:
            space = self.namespaces.get(namespace, {})
            for vector_id in body.get("ids", []):
                space.pop(vector_id, None)
        return FakeResponse.json({})

    def _stats(self, body: dict[str, Any]) -> FakeResponse:
        namespaces = {ns: {"vectorCount": len(space)} for ns, space in self.namespaces.items()}
        return FakeResponse.json(
            {
                "namespaces": namespaces,
                "dimension": self.dimension,
                "indexFullness": 0.0,
                "totalVectorCount": sum(n["vectorCount"] for n in namespaces.values()),
            }
        )
