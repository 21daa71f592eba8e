"""OpenAI's chat completion and model list formats, as far as a bot can answer them.

Requests accept OpenAI's other parameters and ignore what a bot has no use for; the answer's
citations travel in an extension field, `chatsphere`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class InputMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: Annotated[str, Field(min_length=1, max_length=100, description="A bot id or slug")]
    messages: Annotated[list[InputMessage], Field(min_length=1, max_length=200)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float | None, Field(ge=0, le=2)] = None
    max_tokens: Annotated[int | None, Field(ge=1)] = None
    max_completion_tokens: Annotated[int | None, Field(ge=1)] = None
    n: Annotated[int, Field(ge=1, le=1, description="One answer per request")] = 1


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Extension(BaseModel):
    """ChatSphere's own fields: what the answer cites, and where the turn is stored."""

    sources: list[dict[str, Any]]
    conversation_id: str | None = None
    message_id: str | None = None


class OutputMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    chatsphere: Extension


class Choice(BaseModel):
    index: int = 0
    message: OutputMessage
    finish_reason: Literal["stop", "length"] = "stop"


class Completion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    chatsphere: Extension


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    chatsphere: dict[str, str]


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
