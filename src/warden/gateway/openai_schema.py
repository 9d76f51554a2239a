"""Pydantic models for the OpenAI-compatible request body (untrusted input). Unknown top-level fields
(top_p, stop, seed, ...) pass through to the backend; messages and tools are validated strictly."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_TOOL_NAME = r"^[A-Za-z0-9_.-]{1,64}$"


class FunctionDef(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(pattern=_TOOL_NAME)
    description: str | None = None
    parameters: dict[str, Any] | None = None


class ToolDef(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["function"] = "function"
    function: FunctionDef


class FunctionCall(BaseModel):
    name: str = Field(max_length=256)
    arguments: str = Field("", max_length=100_000)


class ToolCallIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


def _strings(value: Any, depth: int = 0) -> list[str]:
    """Every string inside ``value`` (dict values, list items), skipping inline binary payloads."""
    if isinstance(value, str):
        return [] if value.startswith("data:") and ";base64," in value[:100] else [value]
    if depth > 8:
        return []
    if isinstance(value, dict):
        return [t for k, v in value.items() if k != "type" for t in _strings(v, depth + 1)]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v, depth + 1)]
    return []


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None

    def texts(self) -> list[str]:
        """All text in the part, whatever its type (``text``, ``TEXT``, ``output_text``, ``refusal``,
        the fields of an ``image_url``...): a backend may render any of it, so rails read all of it."""
        return _strings(self.model_dump(exclude_none=True))


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(None, max_length=256)
    tool_call_id: str | None = Field(None, max_length=256)
    tool_calls: list[ToolCallIn] | None = None

    def text(self) -> str:
        """What the model can read of this message: the content (every part of it) and any other text
        field a chat template may render (``refusal``, ``reasoning_content``, ...)."""
        if isinstance(self.content, list):
            parts = [t for p in self.content for t in p.texts()]
        else:
            parts = [self.content] if self.content else []
        parts += [t for v in (self.model_extra or {}).values() for t in _strings(v)]
        return "\n".join(parts)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(max_length=256)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    tools: list[ToolDef] | None = None
    tool_choice: Any = None
    max_tokens: int | None = Field(None, ge=1, le=1_000_000)
    temperature: float | None = Field(None, ge=0, le=2)
