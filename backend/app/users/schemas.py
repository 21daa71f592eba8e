from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from app.users.models import DEFAULT_SCOPES

Password = Annotated[str, Field(min_length=8, max_length=128)]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class UserCreate(BaseModel):
    email: EmailStr
    password: Password
    full_name: FullName = ""


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: FullName | None = None
    password: Password | None = None
    current_password: Annotated[str | None, Field(max_length=128)] = Field(
        default=None, description="Required when changing the password."
    )


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str
    is_active: bool
    created_at: datetime


class LoginRequest(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=128)]


class RefreshRequest(BaseModel):
    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class SessionStarted(BaseModel):
    """A browser session: the access token for the page's memory; the refresh token is in an
    HttpOnly cookie, out of the page's reach."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Access token lifetime in seconds")


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Access token lifetime in seconds")


Scope = Literal["read", "write", "chat", "keys"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    bot_ids: Annotated[list[uuid.UUID] | None, Field(max_length=100)] = Field(
        default=None, description="The bots it may use; left out: every bot of yours."
    )
    scopes: Annotated[list[Scope] | None, Field(min_length=1, max_length=4)] = Field(
        default=None, description="Left out: read, write and chat (not keys)."
    )


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    bot_ids: list[uuid.UUID] | None
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None

    @field_validator("scopes", mode="before")
    @classmethod
    def _default_scopes(cls, value: object) -> object:
        return sorted(DEFAULT_SCOPES) if value is None else value


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself. It is shown only once; store it now.")
