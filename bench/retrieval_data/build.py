"""Builds `faq.json.gz`, the retrieval evaluation set of `bench/retrieval.py`, from FAQs that
ship with Debian packages: text written by people for people, not for this test.

- Documents (the bot's knowledge): the Perl FAQ (perl-doc: perlfaq1-9, perlunifaq), the
  Python FAQ (python3.11-doc: faq/*.html), one document per page, with the question headings
  removed so that a question is never answered by its own heading.
- Questions: the FAQ's own questions (written by their authors), each with its gold answer:
  the first eight words of the first prose paragraph under it, which a hit must contain.
- Off-topic questions: the Debian FAQ's (debian-faq), asked of a bot that has none of it.
- Split: every third question is `dev`, the others `test`, so tuning can use dev only.

Licences: Perl FAQ (Artistic/GPL), Python docs (PSF licence), Debian FAQ (GPL-2+).

    apt-get install perl-doc python3.11-doc debian-faq git-doc sqlite3-doc
    python bench/retrieval_data/build.py
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import lxml.html

HERE = Path(__file__).parent
PERL = Path("/usr/share/perl/5.36/pod")
PYTHON = Path("/usr/share/doc/python3.11/html/faq")
DEBIAN = Path("/usr/share/doc/debian/FAQ")
GIT = Path("/usr/share/doc/git-doc/gitfaq.txt")
SQLITE = Path("/usr/share/doc/sqlite3/faq.html")
SPAN_WORDS = 8


def _clean_pod(text: str) -> str:
    for _ in range(3):  # nested codes: C<L<...>>
        text = re.sub(r"[A-Z]<<+\s*(.*?)\s*>+>", r"\1", text)
        text = re.sub(r"[A-Z]<([^<>]*)>", r"\1", text)
    return text.replace("E<lt>", "<").replace("E<gt>", ">")


def _span(paragraphs: list[str]) -> str | None:
    for p in paragraphs:
        words = p.split()
        if len(words) >= SPAN_WORDS and not p.startswith((" ", "\t")):
            return " ".join(words[:SPAN_WORDS])
    return None


def pod_faq(path: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    """(document text without question headings, [(question, paragraphs)])."""
    entries: list[tuple[str, list[str]]] = []
    kept: list[str] = []
    current: list[str] | None = None
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
        if block.startswith("=head2"):
            question = " ".join(_clean_pod(block[len("=head2") :]).split())
            current = []
            entries.append((question, current))
            continue
        if block.startswith("=head1"):
            current = None
            continue
        if block.startswith("="):
            if block.startswith("=item"):
                block = block[len("=item") :].strip()
            else:
                continue
        text = _clean_pod(block).strip("\n")
        if not text.strip():
            continue
        kept.append(text)
        if current is not None:
            current.append(text)
    return "\n\n".join(kept), entries


def html_faq(path: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    tree = lxml.html.parse(str(path))
    body = tree.find(".//body")
    for junk in body.xpath(".//*[contains(@class,'headerlink') or contains(@class,'sphinxsidebar') "
                           "or contains(@class,'related') or contains(@class,'footer') "
                           "or self::script or self::style or contains(@class,'navheader') "
                           "or contains(@class,'navfooter') or contains(concat(' ',@class,' '),' toc ') "
                           "or contains(concat(' ',@class,' '),' contents ')]"):  # fmt: skip
        junk.drop_tree()
    entries: list[tuple[str, list[str]]] = []
    kept: list[str] = []
    current: list[str] | None = None
    for node in body.iter("h1", "h2", "h3", "h4", "p", "pre", "li", "dd"):
        if node.tag in ("li", "dd") and node.xpath(".//p|.//pre"):
            continue  # its paragraphs come on their own
        text = node.text_content()
        text = text if node.tag == "pre" else " ".join(text.split())
        if not text.strip():
            continue
        if node.tag in ("h1", "h2", "h3", "h4"):
            question = re.sub(r"^[\d.]+\s+", "", text).strip()
            if question.endswith("?"):
                current = []
                entries.append((question, current))
            else:
                current = None
                kept.append(question)
            continue
        kept.append(text)
        if current is not None:
            current.append(text)
    return "\n\n".join(kept), entries


def git_faq(path: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    """AsciiDoc: `Question?::` then its paragraphs; `----` underlines section titles."""
    entries: list[tuple[str, list[str]]] = []
    kept: list[str] = []
    current: list[str] | None = None
    lines = path.read_text(encoding="utf-8").splitlines()
    for block in re.split(r"\n\s*\n", "\n".join(lines)):
        block = "\n".join(x for x in block.strip().splitlines() if not x.startswith("[["))
        first = block.splitlines()[0] if block else ""
        if first.endswith("::"):
            current = []
            entries.append((" ".join(first[:-2].replace("`", "").split()), current))
            block = "\n".join(block.splitlines()[1:])
        elif re.fullmatch(r"[-=~]{3,}", block.strip().splitlines()[-1] if block.strip() else ""):
            current = None
            continue
        text = block.replace("`", "").strip()
        if text and not text.startswith(("----", "[", "include::")):
            kept.append(text)
            if current is not None:
                current.append(" ".join(text.split()))
    return "\n\n".join(kept), entries


def sqlite_faq(path: Path) -> tuple[str, list[tuple[str, list[str]]]]:
    """`<p><b>(N) Question</b></p><blockquote>answer</blockquote>`."""
    tree = lxml.html.parse(str(path))
    entries: list[tuple[str, list[str]]] = []
    for bold in tree.xpath("//p/b"):
        match = re.match(r"\((\d+)\)\s*(.+)", " ".join(bold.text_content().split()), re.S)
        answer = bold.getparent().getnext()
        if match is None or answer is None or answer.tag != "blockquote":
            continue
        paragraphs = [" ".join(p.split()) for p in answer.text_content().split("\n\n")]
        entries.append((match.group(2), [" ".join(" ".join(paragraphs).split())]))
    text = "\n\n".join(ps[0] for _, ps in entries)
    return text, entries


def main() -> None:
    documents, questions, offtopic = [], [], []
    sources = [(p, pod_faq, "perlfaq") for p in sorted(PERL.glob("perlfaq[1-9].pod"))]
    sources += [(PERL / "perlunifaq.pod", pod_faq, "perlfaq")]
    sources += [(p, html_faq, "python-faq") for p in sorted(PYTHON.glob("*.html"))
                if p.name != "index.html"]  # fmt: skip
    sources += [(GIT, git_faq, "gitfaq"), (SQLITE, sqlite_faq, "sqlite-faq")]
    for path, parse, source in sources:
        text, entries = parse(path)
        doc_id = f"{source}/{path.stem}"
        usable = [(q, _span(ps)) for q, ps in entries]
        usable = [(q, s) for q, s in usable if s and s in " ".join(text.split())]
        if not usable:
            continue
        documents.append({"id": doc_id, "title": path.stem, "source": source, "text": text})
        for question, span in usable:
            questions.append({"document": doc_id, "question": question, "answer": span})
    for path in sorted(DEBIAN.glob("*.en.html")):
        _, entries = html_faq(path)
        offtopic.extend(q for q, _ in entries)
    for n, q in enumerate(questions):
        q["split"] = "dev" if n % 3 == 0 else "test"
    data = {"documents": documents, "questions": questions, "offtopic": offtopic}
    with gzip.open(HERE / "faq.json.gz", "wt", encoding="utf-8", compresslevel=9) as out:
        json.dump(data, out, ensure_ascii=False, sort_keys=True)
    print(f"{len(documents)} documents, {len(questions)} questions, {len(offtopic)} off-topic")


if __name__ == "__main__":
    main()
