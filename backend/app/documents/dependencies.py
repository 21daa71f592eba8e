from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from app.bots.dependencies import OwnedBot
from app.core.runtime import RuntimeDep, SessionDep
from app.documents import service, storage
from app.documents.models import Document
from app.users.dependencies import CurrentUser


async def get_owned_document(
    document_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> Document:
    return await service.get_owned(session, user, document_id)


# Another owner's document is a 404, exactly like a missing one.
OwnedDocument = Annotated[Document, Depends(get_owned_document)]


async def staged_upload(
    bot: OwnedBot, request: Request, runtime: RuntimeDep
) -> AsyncIterator[storage.StagedFile]:
    """The request's `file` part, streamed to the store only after auth and ownership passed.

    Nothing has been written yet, so on SQLite no write lock waits for a slow client.
    """
    settings = runtime.settings
    staged = await storage.receive_upload(request, settings.upload_dir, settings.max_upload_bytes)
    try:
        yield staged
    finally:
        staged.discard()  # no-op once the service has moved it into place


StagedUpload = Annotated[storage.StagedFile, Depends(staged_upload, scope="function")]
