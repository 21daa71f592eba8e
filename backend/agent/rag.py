"""The RAG agent: retrieve a bot's passages, build the prompt, ask the LLM, return cited sources.

A pure library: the embedder, vector store and LLM are injected, and chunk text comes back
through a caller-supplied `resolve` callback, because the vector store only keeps small
metadata and the app keeps chunk text in its database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agent import prompts
from agent.embeddings.base import Embedder
from agent.errors import EmbeddingModelMismatch
from agent.llm.base import LLM
from agent.llm.local import stream_words
from agent.retrieval import (
    MIN_COVERAGE,
    PROXIMITY_DEPTH,
    Candidate,
    LexicalSearch,
    RetrievalMode,
    add_proximity_vote,
    coverage,
    fuse,
    relevant,
)
from agent.types import (
    ChatMessage,
    ContextBlock,
    EmbeddingTask,
    GenerationConfig,
    Grounding,
    StreamChunk,
    Usage,
)
from agent.vectorstores.base import VectorStore

DEFAULT_FALLBACK = "Sorry, I couldn't find anything about that in my documents."

# Cosine scores below these are treated as "not relevant". The local hashed bag-of-words
# embedder scores unrelated text around 0 (noise ~0.04 at 512 dims) and a shared content
# word from ~0.1 up. Gemini embeddings score even unrelated text around 0.4-0.5, so its
# floor is higher. Callers can pass their own `min_score` to RagAgent.
DEFAULT_MIN_SCORES: Mapping[str, float] = {"local": 0.10, "gemini": 0.55}


# How much the vector list weighs against the keyword list in the fusion. The local hashed
# embedder is itself a bag of words, weaker than the keyword index it is fused with: a quarter
# of a vote (chosen on the dev split of bench/retrieval.py; the test split is reported).
# Learned embeddings (Gemini) get the standard, equal vote.
DENSE_WEIGHTS: Mapping[str, float] = {"local": 0.25}

# Embedders whose similarity is only shared words (the local hashed bag of words): their dense
# score never vouches for a passage that shares too few words with the question.
LEXICAL_EMBEDDERS = frozenset({"local"})


def default_min_score(embedding_provider: str) -> float:
    return DEFAULT_MIN_SCORES.get(embedding_provider, 0.0)


@dataclass(frozen=True, slots=True)
class BotProfile:
    """What the agent needs to know about a bot; the app builds it from its bot row."""

    namespace: str
    embedding_model: str
    system_prompt: str = ""
    fallback_message: str = DEFAULT_FALLBACK
    temperature: float = 0.2
    top_k: int = 5
    agent_type: Literal["rag", "chat"] = "rag"
    model: str | None = None
    # A cap on the answer's length below the agent's own (an API caller's max_tokens).
    max_output_tokens: int | None = None
    retrieval_mode: RetrievalMode = "hybrid"
    min_score: float | None = None  # the dense relevance floor; None: the embedder's default


@dataclass(frozen=True, slots=True)
class ChunkInfo:
    """What the app's database knows about a chunk, looked up by its vector id."""

    chunk_id: str
    document_id: str
    document_name: str
    chunk_index: int
    text: str
    page: int | None = None


# Vector ids -> chunks. Ids the app no longer knows (a document deleted mid-query) are left out.
ChunkResolver = Callable[[Sequence[str]], Awaitable[Mapping[str, ChunkInfo]]]


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved chunk, numbered as the prompt and the answer's citations number it."""

    number: int
    chunk_id: str
    document_id: str
    document_name: str
    chunk_index: int
    page: int | None
    score: float
    text: str
    dense_score: float | None = None
    lexical_rank: int | None = None
    fused_score: float | None = None
    proximity_rank: int | None = None


@dataclass(frozen=True, slots=True)
class RagAnswer:
    text: str
    sources: list[Source]
    usage: Usage
    used_fallback: bool


@dataclass(frozen=True, slots=True)
class SourcesEvent:
    """First event of `RagAgent.stream`: what the answer is based on."""

    sources: list[Source]
    used_fallback: bool


# `stream` yields one SourcesEvent, then StreamChunks; the last chunk carries the usage.
RagEvent = SourcesEvent | StreamChunk


@dataclass(frozen=True, slots=True)
class _Plan:
    sources: list[Source]
    messages: list[ChatMessage]
    system: str
    config: GenerationConfig
    grounding: Grounding


class RagAgent:
    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        llm: LLM,
        *,
        min_score: float | None = None,
        history_window: int = prompts.HISTORY_WINDOW,
        max_output_tokens: int = 1024,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.llm = llm
        self.min_score = default_min_score(embedder.provider) if min_score is None else min_score
        self.dense_weight = DENSE_WEIGHTS.get(embedder.provider, 1.0)
        self._dense_vouches = embedder.provider not in LEXICAL_EMBEDDERS
        self._history_window = history_window
        self._max_output_tokens = max_output_tokens

    async def retrieve(
        self,
        bot: BotProfile,
        query: str,
        *,
        resolve: ChunkResolver,
        lexical: LexicalSearch | None = None,
        top_k: int | None = None,
        min_score: float | None = None,
    ) -> list[Source]:
        """The bot's best chunks for `query`, best first, numbered from 1.

        `hybrid` (the default) fuses the vector search with `lexical` (keyword search) by
        reciprocal rank, each side fetching several times `top_k` candidates, then gives the
        fused list's head a proximity vote (`add_proximity_vote`); `semantic` and `keyword`
        use one side. A chunk is relevant when it matches a content word of the query or its
        dense score reaches the floor (the bot's `min_score`, else the agent's). `min_score`
        overrides both; retrieval testing may pass -1 to see every hit.
        """
        mode: RetrievalMode = bot.retrieval_mode if lexical is not None else "semantic"
        floor = self._floor(bot) if min_score is None else min_score
        want = top_k or bot.top_k
        fetch = max(4 * want, 20)
        dense: list[tuple[str, float]] = []
        if mode != "keyword":
            dense = await self._dense(bot, query, fetch)
        words = await lexical(query, fetch) if lexical is not None and mode != "semantic" else []
        fused = fuse(dense, words, dense_weight=self.dense_weight)
        ranked = [c for c in fused if relevant(c, mode, floor)]
        if mode == "semantic":  # one list: its own scores order it
            ranked.sort(key=lambda c: -(c.dense_score or 0.0))
        # Room for ids the resolver no longer knows; hybrid reads the head for its vote.
        ranked = ranked[: max(want * 2, PROXIMITY_DEPTH if mode == "hybrid" else 0)]
        if not ranked:
            return []
        chunks = await resolve([c.id for c in ranked])
        found = [(c, chunks[c.id]) for c in ranked if c.id in chunks]
        if mode == "hybrid":
            voted = add_proximity_vote(query, [(c, info.text) for c, info in found])
            found = [(c, chunks[c.id]) for c, _ in voted]
        return [
            _source(number, c.dense_score if mode == "semantic" else c.fused_score, info, c)
            for number, (c, info) in enumerate(found[:want], 1)
        ]

    def _floor(self, bot: BotProfile) -> float:
        return self.min_score if bot.min_score is None else bot.min_score

    def answerable(self, bot: BotProfile, question: str, sources: Sequence[Source]) -> bool:
        """Whether the passages answer the question at all: one of them contains at least
        `MIN_COVERAGE` of its content words, or a learned embedder scores one at the floor."""
        return any(
            coverage(question, s.text) >= MIN_COVERAGE
            or (
                self._dense_vouches
                and s.dense_score is not None
                and s.dense_score >= self._floor(bot)
            )
            for s in sources
        )

    async def _dense(self, bot: BotProfile, query: str, fetch: int) -> list[tuple[str, float]]:
        if bot.embedding_model != self.embedder.model:
            raise EmbeddingModelMismatch(
                "This bot's documents were indexed with a different embedding model. "
                "Reindex its documents to search them.",
                detail=f"bot={bot.embedding_model!r} embedder={self.embedder.model!r}",
                indexed_with=bot.embedding_model,
                querying_with=self.embedder.model,
            )
        [vector] = await self.embedder.embed([query], EmbeddingTask.QUERY)
        matches = await self.store.query(bot.namespace, vector, fetch)
        return [(m.id, m.score) for m in sorted(matches, key=lambda m: -m.score)]

    async def answer(
        self,
        bot: BotProfile,
        question: str,
        *,
        resolve: ChunkResolver,
        lexical: LexicalSearch | None = None,
        history: Sequence[ChatMessage] = (),
        selected_text: str | None = None,
    ) -> RagAnswer:
        """Answer `question` from the bot's documents (or, for a chat bot, from the model alone).

        `history` is the conversation before this question, oldest first, without the question
        itself; only its last `history_window` messages are sent.
        """
        plan = await self._plan(bot, question, history, selected_text, resolve, lexical)
        if plan is None:
            return RagAnswer(bot.fallback_message, [], Usage(), used_fallback=True)
        generation = await self.llm.generate(
            plan.messages, system=plan.system, config=plan.config, grounding=plan.grounding
        )
        return RagAnswer(generation.text, plan.sources, generation.usage, used_fallback=False)

    async def stream(
        self,
        bot: BotProfile,
        question: str,
        *,
        resolve: ChunkResolver,
        lexical: LexicalSearch | None = None,
        history: Sequence[ChatMessage] = (),
        selected_text: str | None = None,
    ) -> AsyncIterator[RagEvent]:
        """Like `answer`, as events: one SourcesEvent, then StreamChunks, the last with usage."""
        plan = await self._plan(bot, question, history, selected_text, resolve, lexical)
        if plan is None:
            yield SourcesEvent([], used_fallback=True)
            async for chunk in stream_words(bot.fallback_message, Usage()):
                yield chunk
            return
        yield SourcesEvent(plan.sources, used_fallback=False)
        async for chunk in self.llm.stream(
            plan.messages, system=plan.system, config=plan.config, grounding=plan.grounding
        ):
            yield chunk

    async def _plan(
        self,
        bot: BotProfile,
        question: str,
        history: Sequence[ChatMessage],
        selected_text: str | None,
        resolve: ChunkResolver,
        lexical: LexicalSearch | None = None,
    ) -> _Plan | None:
        """Everything the LLM call needs, or None when a RAG bot has nothing relevant to say."""
        grounded = bot.agent_type == "rag"
        sources = (
            await self.retrieve(bot, question, resolve=resolve, lexical=lexical) if grounded else []
        )
        if grounded and not self.answerable(bot, question, sources):
            return None
        blocks = tuple(ContextBlock(s.number, s.text, s.document_name) for s in sources)
        turn = prompts.user_turn(question, blocks, selected_text)
        return _Plan(
            sources=sources,
            messages=prompts.conversation(history, turn, self._history_window),
            system=prompts.system_instruction(
                bot.system_prompt, grounded=grounded, fallback_message=bot.fallback_message
            ),
            config=GenerationConfig(
                model=bot.model,
                temperature=bot.temperature,
                max_output_tokens=min(
                    self._max_output_tokens, bot.max_output_tokens or self._max_output_tokens
                ),
            ),
            grounding=Grounding(question=question, blocks=blocks, selected_text=selected_text),
        )


def _source(number: int, score: float | None, info: ChunkInfo, candidate: Candidate) -> Source:
    return Source(
        number=number,
        chunk_id=info.chunk_id,
        document_id=info.document_id,
        document_name=info.document_name,
        chunk_index=info.chunk_index,
        page=info.page,
        score=score if score is not None else candidate.fused_score,
        text=info.text,
        dense_score=candidate.dense_score,
        lexical_rank=candidate.lexical_rank,
        fused_score=candidate.fused_score,
        proximity_rank=candidate.proximity_rank,
    )
