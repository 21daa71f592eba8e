from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from app.bots.dependencies import OwnedBot
from app.bots.models import Bot
from app.core.db import SessionDep
from app.core.runtime import RuntimeDep
from app.documents import service, storage
from app.documents.models import Document
from app.users.dependencies import CurrentUser


async def get_owned_document(
    document_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Document:
    return await service.get_owned(session, user, document_id)


# Another owner's document is a 404, exactly like a missing one.
OwnedDocument = Annotated[Document, Depends(get_owned_document)]


async def get_released_bot(bot: OwnedBot, session: SessionDep) -> Bot:
    """The owned bot, with the request's read-only transaction ended.

    On SQLite every transaction takes the write lock (BEGIN IMMEDIATE), and the local vector
    store and embedding cache use connections of their own: they would wait for this request.
    """
    await session.commit()
    return bot


# For routes that call the agent's stores after loading the bot (search).
ReleasedBot = Annotated[Bot, Depends(get_released_bot)]


async def staged_upload(
    bot: ReleasedBot, request: Request, runtime: RuntimeDep
) -> AsyncIterator[storage.StagedFile]:
    """The request's `file` part, streamed to the store only after auth and ownership passed.

    The bot comes released: an open transaction would hold SQLite's write lock for as long
    as a slow client takes to upload.
    """
    settings = runtime.settings
    staged = await storage.receive_upload(request, settings.upload_dir, settings.max_upload_bytes)
    try:
        yield staged
    finally:
        staged.discard()  # no-op once the service has moved it into place


StagedUpload = Annotated[storage.StagedFile, Depends(staged_upload, scope="function")]
