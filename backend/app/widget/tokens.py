"""Visitor sessions: signed tokens bound to one bot, its current public key and one site.

The server picks the visitor id. A token lasts WIDGET_SESSION_HOURS; an expired one can be
renewed for WIDGET_RENEW_DAYS more, keeping the visitor. Rotating the bot's public key ends
every session (tokens carry a fingerprint of the key they were made for). The signing key is
derived from SECRET_KEY for this purpose alone, with its own audience, so an owner's access
token is never a visitor's session and the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt

from app.core.config import Settings
from app.widget.exceptions import InvalidSession

AUDIENCE = "chatsphere-widget"
_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class VisitorSession:
    visitor_id: str
    bot_id: uuid.UUID
    conversation_id: uuid.UUID
    origin: str
    expires_at: int


def new_visitor_id() -> str:
    return "v_" + secrets.token_urlsafe(16)


def _signing_key(settings: Settings) -> bytes:
    return hmac.new(
        settings.resolved_secret_key.encode(), b"chatsphere widget sessions", hashlib.sha256
    ).digest()


def key_fingerprint(public_key: str) -> str:
    return hashlib.sha256(public_key.encode()).hexdigest()[:16]


def issue(
    settings: Settings,
    *,
    visitor_id: str,
    bot_id: uuid.UUID,
    public_key: str,
    conversation_id: uuid.UUID,
    origin: str,
) -> tuple[str, int]:
    """A session token and its lifetime in seconds."""
    now = int(time.time())
    lifetime = settings.widget_session_hours * 3600
    claims = {
        "aud": AUDIENCE,
        "sub": visitor_id,
        "bot": str(bot_id),
        "kid": key_fingerprint(public_key),
        "conv": str(conversation_id),
        "origin": origin,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(claims, _signing_key(settings), algorithm=_ALGORITHM), lifetime


def verify(
    settings: Settings,
    token: str,
    *,
    bot_id: uuid.UUID,
    public_key: str,
    origin: str,
    grace_seconds: int = 0,
) -> VisitorSession:
    """The session, if `token` was made for this bot, key and site and has not expired
    (more than `grace_seconds` ago); else 401."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(settings),
            algorithms=[_ALGORITHM],
            audience=AUDIENCE,
            leeway=grace_seconds,
            options={"require": ["exp", "iat", "sub", "aud"]},
        )
        session = VisitorSession(
            visitor_id=str(claims["sub"]),
            bot_id=uuid.UUID(claims["bot"]),
            conversation_id=uuid.UUID(claims["conv"]),
            origin=str(claims["origin"]),
            expires_at=int(claims["exp"]),
        )
        fingerprint = str(claims["kid"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidSession() from exc
    if (
        session.bot_id != bot_id
        or not hmac.compare_digest(fingerprint, key_fingerprint(public_key))
        or session.origin != origin
    ):
        raise InvalidSession()
    return session
