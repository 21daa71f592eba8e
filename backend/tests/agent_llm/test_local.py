"""The local extractive answerer quotes the passages that answer, cited by their numbers."""

from __future__ import annotations

from agent.llm.local import NO_DOCUMENTS, PREAMBLE, WORDS_PER_DELTA, LocalAnswerer
from agent.types import ChatMessage, ContextBlock, GenerationConfig, Grounding

STORE_BLOCKS = (
    ContextBlock(1, "Our store opens at 9am on weekdays. We are closed on public holidays."),
    ContextBlock(
        2,
        "Refunds are accepted within 30 days of purchase. Items must be unused. "
        "Our team was founded in 2012 by two friends.",
    ),
    ContextBlock(3, "Shipping takes five business days. Express shipping is available."),
)
CONFIG = GenerationConfig()


async def ask(question: str, blocks=STORE_BLOCKS, selected_text: str | None = None) -> str:
    grounding = Grounding(question=question, blocks=tuple(blocks), selected_text=selected_text)
    result = await LocalAnswerer().generate(
        [ChatMessage("user", question)], system="rules", config=CONFIG, grounding=grounding
    )
    return result.text


async def test_quotes_and_cites_the_block_that_answers():
    answer = await ask("What is the refund window?")

    assert "30 days" in answer and "[2]" in answer
    assert "[1]" not in answer and "[3]" not in answer
    assert "founded" not in answer  # an unrelated sentence of the same block is left out


async def test_says_once_at_the_start_that_no_language_model_is_used():
    answer = await ask("How long does shipping take?")

    assert answer.startswith(PREAMBLE)
    assert answer.count("without a language model") == 1
    assert "five business days" in answer and "[3]" in answer


async def test_word_forms_match_after_stemming():
    answer = await ask("Are refunded purchases possible?")

    assert "Refunds are accepted within 30 days of purchase. [2]" in answer


async def test_quotes_from_several_blocks_are_in_source_order():
    answer = await ask("When does the store open, and how long does express shipping take?")

    assert answer.index("[1]") < answer.index("[3]")
    assert "9am" in answer and "Express shipping" in answer


async def test_highlighted_text_helps_a_vague_question():
    answer = await ask("What does this mean?", selected_text="unused items")

    assert answer.endswith("Items must be unused. [2]")


async def test_without_word_overlap_it_quotes_the_top_ranked_block():
    answer = await ask("Tell me something", blocks=STORE_BLOCKS[2:])

    assert "Shipping takes five business days. Express shipping is available. [3]" in answer


async def test_without_documents_it_says_it_cannot_answer():
    assert await ask("hello", blocks=()) == NO_DOCUMENTS


async def test_stream_comes_a_few_words_at_a_time_and_matches_generate():
    question = "What is the refund window?"
    grounding = Grounding(question=question, blocks=STORE_BLOCKS)
    messages = [ChatMessage("user", question)]
    llm = LocalAnswerer()

    stream = llm.stream(messages, system="rules", config=CONFIG, grounding=grounding)
    chunks = [c async for c in stream]
    whole = await llm.generate(messages, system="rules", config=CONFIG, grounding=grounding)

    deltas = [c.delta for c in chunks[:-1]]
    assert "".join(deltas) == whole.text
    assert len(deltas) > 1 and deltas[0].startswith("I'm ")
    assert all(1 <= len(d.split()) <= WORDS_PER_DELTA for d in deltas)
    assert chunks[-1].usage == whole.usage
    assert whole.usage.prompt_tokens > 0 and whole.usage.completion_tokens > 0


async def test_answers_are_deterministic():
    assert await ask("refund window?") == await ask("refund window?")


async def test_fake_llm_names_the_question_and_cites_what_it_was_given():
    from agent.llm.fake import FakeLLM

    llm = FakeLLM()
    grounding = Grounding(question="refund window?", blocks=STORE_BLOCKS[:2])
    messages = [ChatMessage("user", "prompt text")]

    whole = await llm.generate(messages, system="s", config=CONFIG, grounding=grounding)
    stream = llm.stream(messages, system="s", config=CONFIG, grounding=grounding)
    streamed = [c async for c in stream]

    assert whole.text == "Answer to: refund window? [1] [2]"
    assert "".join(c.delta for c in streamed) == whole.text
    assert len(llm.calls) == 2 and llm.calls[0].grounding == grounding


async def test_a_huge_unpunctuated_passage_is_quoted_in_part():
    table = "refund " + " ".join(f"row{i} value{i}" for i in range(2000))

    answer = await ask("refund?", blocks=[ContextBlock(1, table)])

    assert len(answer) < 1400 and answer.endswith(" … [1]")
