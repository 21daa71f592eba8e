from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.bots.dependencies import OwnedBot
from app.core.pagination import Page, PageParamsDep
from app.core.routes import large_body, reads_only
from app.core.runtime import RuntimeDep, SessionDep
from app.core.streaming import EventStream, with_keepalive
from app.documents import events, service
from app.documents import metrics as _metrics  # noqa: F401 - registers the scrape hooks
from app.documents.dependencies import OwnedDocument, StagedUpload
from app.documents.models import DocumentStatus
from app.documents.schemas import (
    ChunkPublic,
    DocumentPublic,
    SearchRequest,
    SearchResults,
    TextDocumentCreate,
)

router = APIRouter(tags=["documents"])

# The body is streamed by hand (see storage.receive_upload), so describe it for /docs here.
_MULTIPART_FILE = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
_REFUSALS = {
    409: {"description": "The same content is already in this bot (`duplicate_document`)"},
    413: {"description": "Larger than MAX_UPLOAD_MB"},
    415: {"description": "Not a PDF, TXT, Markdown, HTML or DOCX file (judged by its bytes)"},
    422: {"description": "Empty file or malformed request"},
}


@router.post(
    "/bots/{bot_id}/documents",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentPublic,
    openapi_extra=_MULTIPART_FILE,
    responses=_REFUSALS,
)
@large_body
async def upload_document(
    bot: OwnedBot, staged: StagedUpload, session: SessionDep, runtime: RuntimeDep
) -> DocumentPublic:
    """Upload a file (multipart field `file`). It is queued for processing; poll its status."""
    document = await service.create_from_upload(session, bot, staged, settings=runtime.settings)
    return DocumentPublic.model_validate(document)


@router.post(
    "/bots/{bot_id}/documents/text",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentPublic,
    responses=_REFUSALS,
)
@large_body
async def create_text_document(
    data: TextDocumentCreate, bot: OwnedBot, session: SessionDep, runtime: RuntimeDep
) -> DocumentPublic:
    """Add pasted text as a document named `title`; processed like an uploaded file."""
    document = await service.create_from_text(session, bot, data, settings=runtime.settings)
    return DocumentPublic.model_validate(document)


@router.get(
    "/bots/{bot_id}/documents/events",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                     "description": "`document` events (DocumentEvent), `deleted` events"}},
)  # fmt: skip
async def document_events(
    bot: OwnedBot,
    runtime: RuntimeDep,
    until_settled: Annotated[
        bool, Query(description="End the stream once nothing is queued or processing")
    ] = False,
) -> Response:
    """Live progress of the bot's documents as Server-Sent Events: each document's state
    first, then every change (status, progress, pages, chunks embedded, ETA, error)."""
    return EventStream(
        with_keepalive(events.document_events(runtime, bot.id, until_settled=until_settled))
    )


@router.get("/bots/{bot_id}/documents", response_model=Page[DocumentPublic])
async def list_documents(
    bot: OwnedBot,
    session: SessionDep,
    page: PageParamsDep,
    status_filter: Annotated[DocumentStatus | None, Query(alias="status")] = None,
) -> Page[DocumentPublic]:
    """The bot's documents, newest first; `?status=` keeps only one status."""
    documents, total = await service.list_for_bot(session, bot, status_filter, page)
    items = [DocumentPublic.model_validate(d) for d in documents]
    return Page[DocumentPublic](items=items, total=total, **page.model_dump())


@router.get("/documents/{document_id}", response_model=DocumentPublic)
async def get_document(document: OwnedDocument) -> DocumentPublic:
    """One document, with its status, progress and (when failed) the reason."""
    return DocumentPublic.model_validate(document)


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(document: OwnedDocument, session: SessionDep) -> None:
    """Delete a document with its chunks, vectors and stored file."""
    await service.delete(session, document)


@router.get("/documents/{document_id}/chunks", response_model=Page[ChunkPublic])
async def list_chunks(
    document: OwnedDocument, session: SessionDep, page: PageParamsDep
) -> Page[ChunkPublic]:
    """The document's chunks in order, as they are embedded and cited."""
    chunks, total = await service.list_chunks(session, document, page)
    items = [ChunkPublic.model_validate(c) for c in chunks]
    return Page[ChunkPublic](items=items, total=total, **page.model_dump())


@router.post(
    "/documents/{document_id}/reindex",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentPublic,
)
async def reindex_document(
    document: OwnedDocument, session: SessionDep, runtime: RuntimeDep
) -> DocumentPublic:
    """Parse, chunk and embed the document again (e.g. after changing embedding provider)."""
    document = await service.reindex(session, document, settings=runtime.settings)
    return DocumentPublic.model_validate(document)


@router.post("/bots/{bot_id}/search", response_model=SearchResults)
@reads_only
async def search(
    data: SearchRequest, bot: OwnedBot, session: SessionDep, runtime: RuntimeDep
) -> SearchResults:
    """Retrieval testing: the bot's best-matching chunks for `query`, best first, with scores."""
    return SearchResults(items=await service.search(session, bot, data, agent=runtime.agent))
