"""Passwords (argon2), access JWTs, and opaque secrets (API and refresh tokens) kept as hashes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import jwt
from pwdlib import PasswordHash

_password_hash = PasswordHash.recommended()  # argon2id
JWT_ALGORITHM = "HS256"
# Verifying a wrong password against this keeps unknown-email logins as slow as real ones.
_DUMMY_HASH = _password_hash.hash("not-a-real-password-" + secrets.token_hex(8))


class InvalidToken(Exception):
    pass


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow; keep it off the event loop.
    return await anyio.to_thread.run_sync(_password_hash.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return (
        await anyio.to_thread.run_sync(
            _password_hash.verify, password, password_hash or _DUMMY_HASH
        )
        and password_hash is not None
    )


def create_access_token(subject: uuid.UUID, secret: str, minutes: int) -> tuple[str, int]:
    now = datetime.now(UTC)
    payload = {
        "sub": str(subject),
        "type": "access",
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM), minutes * 60


def decode_access_token(token: str, secret: str) -> uuid.UUID:
    try:
        # Pinning the algorithm list refuses alg=none and algorithm confusion.
        payload: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub", "type"]}
        )
        if payload["type"] != "access":
            raise InvalidToken("not an access token")
        return uuid.UUID(payload["sub"])
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc


def new_secret(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def hash_secret(value: str) -> str:
    """SHA-256 of a high-entropy secret; enough for random tokens (not for passwords)."""
    return hashlib.sha256(value.encode()).hexdigest()
