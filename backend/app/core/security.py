"""Passwords (argon2), access JWTs, and opaque secrets (API and refresh tokens) kept as hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
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


def create_access_token(
    subject: uuid.UUID, secret: str, minutes: int, *, version: int = 0
) -> tuple[str, int]:
    now = datetime.now(UTC)
    payload = {
        "sub": str(subject),
        "ver": version,
        "type": "access",
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM), minutes * 60


def decode_access_token(token: str, secret: str) -> tuple[uuid.UUID, int]:
    """The token's subject and the token version it was issued under."""
    subject, version, expires = _verified_claims(token, secret)
    if time.time() >= expires:
        raise InvalidToken("the token has expired")
    return subject, version


@lru_cache(maxsize=8192)
def _verified_claims(token: str, secret: str) -> tuple[uuid.UUID, int, float]:
    """Signature, type and subject of a token, checked once per token and process: a client
    sends the same token with every request for its lifetime. Expiry is checked on each use."""
    try:
        # Pinning the algorithm list refuses alg=none and algorithm confusion.
        payload: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "sub", "type", "ver"]},
        )
        if payload["type"] != "access" or not isinstance(payload["ver"], int):
            raise InvalidToken("not an access token")
        return uuid.UUID(payload["sub"]), payload["ver"], float(payload["exp"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def new_secret(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}_{secrets.token_urlsafe(nbytes)}"


def hash_secret(value: str) -> str:
    """SHA-256 of a high-entropy secret; enough for random tokens (not for passwords)."""
    return hashlib.sha256(value.encode()).hexdigest()
