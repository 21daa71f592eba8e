"""Log lines: JSON with the request id; access-log lines written once per turn of the event
loop, every other line at once."""

from __future__ import annotations

import asyncio
import io
import json
import sys

from app.core.logging import configure_logging, get_logger


class _Captured(io.TextIOWrapper):
    def __init__(self) -> None:
        self.raw_bytes = io.BytesIO()
        super().__init__(self.raw_bytes, encoding="utf-8")

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.raw_bytes.getvalue().splitlines()]


async def test_access_lines_go_out_together_and_errors_at_once(monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(sys, "stderr", captured)
    configure_logging("INFO", json=True)
    access = get_logger("test.access", batched=True)
    access.info("request", path="/a")
    access.info("request", path="/b")
    assert captured.lines() == []  # not yet: at the end of this turn of the loop
    get_logger("test.app").error("boom", request_id="r1")
    assert [line["event"] for line in captured.lines()] == ["boom"]  # errors never wait
    await asyncio.sleep(0)
    lines = captured.lines()
    assert [(line["event"], line.get("path")) for line in lines] == [
        ("boom", None), ("request", "/a"), ("request", "/b")
    ]  # fmt: skip
    assert lines[0]["request_id"] == "r1" and lines[1]["logger"] == "test.access"


def test_outside_an_event_loop_every_line_is_written_at_once(monkeypatch):
    captured = _Captured()
    monkeypatch.setattr(sys, "stderr", captured)
    configure_logging("INFO", json=True)
    get_logger("test.access", batched=True).info("request", path="/c")
    assert [line.get("path") for line in captured.lines()] == ["/c"]
