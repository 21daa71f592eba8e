"""Unanswered questions, grouped by similarity, and usage (recorded by `recording`).

Recording is cheap and happens where the facts are: one INSERT when a turn gets the fallback
or no sources (`record_turn`, from chat's `finish_turn`), and one when an answer gets its
first thumbs-down (`record_thumbs_down`). Grouping happens when an owner reads the list: the
bot's latest questions (at most READ_LIMIT) are clustered greedily, oldest first, by the
overlap of their stemmed content words (Jaccard >= SIMILARITY). A group's id is its first
question's id, so it stays the same while the group grows.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.embeddings._lexical import STOPWORDS, stem, tokenize
from app.bots.models import Bot
from app.chat.models import Conversation, Message, MessageRole
from app.core.config import Settings
from app.core.db import utcnow
from app.documents import service as documents_service
from app.documents.models import Document, DocumentStatus
from app.documents.schemas import TextDocumentCreate
from app.insights.exceptions import InsightNotFound
from app.insights.models import InsightResolution, UnansweredQuestion
from app.insights.schemas import DayCount, SourceCount, UnansweredGroup, UsageInsights

READ_LIMIT = 1000
SIMILARITY = 0.5
USAGE_DAYS = 30


# --- Grouping ----------------------------------------------------------------------------


def words(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in tokenize(text) if w not in STOPWORDS)


@dataclass
class _Group:
    id: uuid.UUID
    words: set[str]
    phrasings: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    recent: list[str] = field(default_factory=list)
    count: int = 0
    last_seen_at: datetime | None = None

    def add(self, question: str, reason: str, at: datetime, question_words: frozenset[str]) -> None:
        self.count += 1
        self.phrasings[question.strip()] += 1
        self.reasons[reason] += 1
        self.words |= question_words
        self.last_seen_at = at
        if question.strip() in self.recent:
            self.recent.remove(question.strip())
        self.recent.insert(0, question.strip())


def _similarity(a: frozenset[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def group(rows: list[tuple[uuid.UUID, str, str, datetime]]) -> list[_Group]:
    """Greedy clustering of (id, question, reason, created_at), oldest first."""
    groups: list[_Group] = []
    for row_id, question, reason, at in sorted(rows, key=lambda r: (r[3], str(r[0]))):
        question_words = words(question)
        best, best_score = None, 0.0
        for candidate in groups:
            score = _similarity(question_words, candidate.words)
            if score > best_score:
                best, best_score = candidate, score
        if best is None or best_score < SIMILARITY:
            if not question_words and groups:  # nothing to compare: its own group
                pass
            best = _Group(row_id, set(question_words))
            groups.append(best)
        best.add(question, reason, _aware(at), question_words)
    return groups


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _groups(session: AsyncSession, bot: Bot) -> list[tuple[_Group, str, uuid.UUID | None]]:
    """Every group of the bot with its status and its answer document."""
    rows = (
        await session.execute(
            select(
                UnansweredQuestion.id,
                UnansweredQuestion.question,
                UnansweredQuestion.reason,
                UnansweredQuestion.created_at,
            )
            .where(UnansweredQuestion.bot_id == bot.id)
            .order_by(UnansweredQuestion.created_at.desc())
            .limit(READ_LIMIT)
        )  # fmt: skip
    ).all()
    groups = group([tuple(r) for r in rows])
    resolutions = {
        r.group_id: r
        for r in (
            await session.execute(
                select(
                    InsightResolution.group_id,
                    InsightResolution.document_id,
                    InsightResolution.created_at,
                    Document.status,
                )
                .outerjoin(Document, Document.id == InsightResolution.document_id)
                .where(InsightResolution.bot_id == bot.id)
            )  # fmt: skip
        ).all()
    }
    out = []
    for g in groups:
        resolution = resolutions.get(g.id)
        status, document_id = "open", None
        if resolution is not None and resolution.status is not None:
            document_id = resolution.document_id
            asked_again = g.last_seen_at and g.last_seen_at > _aware(resolution.created_at)
            if resolution.status == DocumentStatus.READY:
                status = "open" if asked_again else "resolved"
            elif resolution.status != DocumentStatus.FAILED:
                status = "answering"
        out.append((g, status, document_id))
    return out


async def list_unanswered(
    session: AsyncSession, bot: Bot, *, resolved: bool, limit: int, offset: int
) -> tuple[list[UnansweredGroup], int]:
    """Open (and being answered) groups, or resolved ones: most asked first."""
    wanted = [
        (g, status, doc) for g, status, doc in await _groups(session, bot)
        if (status == "resolved") == resolved
    ]  # fmt: skip
    wanted.sort(key=lambda item: (-item[0].count, -(item[0].last_seen_at or utcnow()).timestamp()))
    items = [
        UnansweredGroup(
            id=g.id, question=g.phrasings.most_common(1)[0][0], count=g.count,
            last_seen_at=g.last_seen_at or utcnow(), examples=g.recent[:5],
            reasons=dict(g.reasons), status=status, document_id=doc,
        )
        for g, status, doc in wanted[offset : offset + limit]
    ]  # fmt: skip
    return items, len(wanted)


async def resolve(
    session: AsyncSession, bot: Bot, group_id: uuid.UUID, answer: str, *, settings: Settings
) -> tuple[uuid.UUID, Document]:
    """Write the owner's answer as a Q&A document; the group is resolved once it is ready."""
    found = next((g for g, _, _ in await _groups(session, bot) if g.id == group_id), None)
    if found is None:
        raise InsightNotFound()
    question = found.phrasings.most_common(1)[0][0]
    others = [q for q in found.recent if q != question][:4]
    lines = [f"Q: {question}", *(f"Q: {q}" for q in others), f"A: {answer}"]
    document = await documents_service.create_from_text(
        session, bot, TextDocumentCreate(title=f"Q&A: {question[:150]}", content="\n".join(lines)),
        settings=settings,
    )  # fmt: skip
    existing = await session.get(InsightResolution, group_id)
    if existing is None:
        session.add(InsightResolution(group_id=group_id, bot_id=bot.id,
                                      document_id=document.id, answer=answer))  # fmt: skip
    else:
        existing.document_id, existing.answer, existing.created_at = document.id, answer, utcnow()
    await session.flush()
    return group_id, document


# --- Usage -------------------------------------------------------------------------------


async def usage(session: AsyncSession, bot: Bot, *, today: date | None = None) -> UsageInsights:
    today = today or utcnow().date()
    since = datetime.combine(today - timedelta(days=USAGE_DAYS - 1), datetime.min.time(), UTC)
    day = func.date(Message.created_at)
    counts = {
        str(d): n
        for d, n in (
            await session.execute(
                select(day, func.count())
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Conversation.bot_id == bot.id,
                    Message.role == MessageRole.USER,
                    Message.created_at >= since,
                )
                .group_by(day)
            )  # fmt: skip
        ).all()
    }
    days = [
        DayCount(date=d, messages=counts.get(d.isoformat(), 0))
        for d in (today - timedelta(days=n) for n in range(USAGE_DAYS - 1, -1, -1))
    ]
    cited: Counter[tuple[str, str]] = Counter()
    for (sources,) in (
        await session.execute(
            select(Message.sources)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.bot_id == bot.id,
                Message.role == MessageRole.ASSISTANT,
                Message.created_at >= since,
            )
            .order_by(Message.created_at.desc())
            .limit(READ_LIMIT)
        )  # fmt: skip
    ).all():
        for source in {
            (s.get("document_id", ""), s.get("document_name", "")) for s in sources or []
        }:
            cited[source] += 1
    top = [
        SourceCount(document_id=doc_id, document_name=name, citations=n)
        for (doc_id, name), n in cited.most_common(10)
    ]
    return UsageInsights(days=days, total=sum(d.messages for d in days), top_sources=top)
