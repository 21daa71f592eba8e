"""The owner's journey in the dashboard, in Chromium, against the API as deployed: sign up,
create a bot, upload a PDF and a TXT, watch them get ready, try the bot through the real
widget, embed it, read the conversation, answer an unanswered question, see usage, make and
revoke an API key, sign out. And the refusals a user meets on the way."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import API
from tests.conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.browser

CORPUS_PDF = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "pdf" / "SF424_page2.pdf"
REFUNDS = "Refunds are accepted within 30 days of purchase with a receipt.\n"
HOSTILE = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> Gift cards never expire.'


def _token(base: str, email: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}{API}/auth/login", json={"email": email, "password": password})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _ingest_all(server, headers: dict[str, str], bot_id: str) -> None:
    docs = httpx.get(
        f"{server.base}{API}/bots/{bot_id}/documents?status=queued", headers=headers
    ).json()
    if docs["items"]:
        server.ingest(*[d["id"] for d in docs["items"]])


@pytest.fixture
def pdf() -> Path:
    if not CORPUS_PDF.exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"{CORPUS_PDF} is missing: ../shared must be beside the checkout")
        pytest.skip("../shared/corpus is not there")
    return CORPUS_PDF


def test_the_owner_journey(browser, server, pdf, tmp_path):
    email, password = f"ada-{uuid.uuid4().hex[:6]}@example.com", "correct horse battery"
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{server.base}/")
    page.get_by_role("link", name="Create one").click()
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()

    # A bot.
    page.get_by_role("heading", name="New bot").first.wait_for()
    page.get_by_label("Name").fill("Acme help")
    page.get_by_label("Welcome message").fill("Hi! Ask about refunds.")
    page.get_by_label("Allowed origins").fill("https://not an origin")
    page.get_by_role("button", name="Create bot").click()
    assert "Not an exact origin" in page.get_by_role("alert").inner_text()
    page.get_by_label("Allowed origins").fill("https://shop.example.com")
    page.get_by_role("button", name="Create bot").click()
    page.get_by_role("heading", name="Acme help").wait_for()

    # The session survives a reload (refresh cookie), and no token sits in web storage.
    page.reload()
    page.get_by_role("heading", name="Acme help").wait_for()
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    cookies = page.context.cookies()
    refresh = [c for c in cookies if c["name"] == "cs_refresh"]
    assert refresh and refresh[0]["httpOnly"] and refresh[0]["sameSite"] == "Strict"
    assert page.evaluate("() => document.cookie") == ""

    # Documents: a PDF and a TXT at once, an unsupported file refused with the API's reason.
    txt = tmp_path / "refunds.txt"
    txt.write_text(REFUNDS)
    png = tmp_path / "photo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    page.locator("#files").set_input_files([str(pdf), str(txt), str(png)])
    uploads = page.get_by_role("list", name="Uploads")
    uploads.get_by_text("Uploaded").nth(1).wait_for()
    assert (
        "Unsupported" in uploads.locator("li", has_text="photo.png").inner_text()
        or "not supported" in uploads.locator("li", has_text="photo.png").inner_text().lower()
    )
    page.get_by_label("Title").fill("Gift cards")
    page.get_by_label("Text").fill(HOSTILE)
    page.get_by_role("button", name="Add text").click()
    documents = page.get_by_role("list", name="Documents")
    documents.get_by_text("gift-cards", exact=False).or_(
        documents.get_by_text("Gift cards")
    ).first.wait_for()
    headers = _token(server.base, email, password)
    bot_id = page.url.split("/bots/")[1].split("/")[0]
    _ingest_all(server, headers, bot_id)
    documents.locator(".badge.queued").first.wait_for(state="detached", timeout=15_000)
    text = documents.inner_text()
    assert text.count("Ready") >= 2, text
    assert "refunds.txt" in text and "SF424_page2.pdf" in text
    # The hostile text is shown as text in its chunks, and never runs.
    documents.locator("li", has_text="Gift").get_by_role("button", name="View chunks").click()
    documents.get_by_text("onerror", exact=False).first.wait_for()
    assert page.evaluate("() => window.__pwned") is None

    # Try it: the real widget in the preview page.
    page.get_by_role("link", name="Try it").click()
    frame = page.frame_locator("iframe.preview")
    widget = frame.locator("[data-chatsphere]")
    box = widget.get_by_role("textbox", name="Message")
    box.fill("How many days do I have for a refund?")
    box.press("Enter")
    answer = widget.locator(".msg.assistant").last
    answer.get_by_role("button", name="Helpful", exact=True).wait_for(timeout=15_000)
    assert "30 days" in answer.inner_text()
    box.fill("Is the shop open on Sunday morning?")
    box.press("Enter")
    widget.locator(".msg.assistant").nth(1).get_by_role(
        "button", name="Helpful", exact=True
    ).wait_for(timeout=15_000)

    # Embed.
    page.get_by_role("link", name="Embed").click()
    snippet = page.locator("pre.snippet").inner_text()
    assert re.search(
        r'<script src="http://127\.0\.0\.1:\d+/widget\.js" data-bot="pk_[\w-]+" async></script>',
        snippet,
    )
    assert "https://shop.example.com" in page.get_by_role("main").inner_text()

    # Conversations: the visitor's, with its origin and transcript.
    page.get_by_role("link", name="Conversations").click()
    item = page.locator(".cards li").first
    assert f"Visitor on {server.base}" in item.inner_text()
    item.get_by_role("button").click()
    page.locator(".transcript .message.assistant").first.wait_for()
    assert "30 days" in page.locator(".transcript").inner_text()

    # Unanswered: the off-topic question, answered by the owner.
    page.get_by_role("link", name="Unanswered").click()
    group = page.locator(".cards li", has_text="Is the shop open on Sunday morning?")
    group.get_by_label("Add an answer").fill("We are open on Sundays from 10 to 14.")
    group.get_by_role("button", name="Add an answer").click()
    page.locator(".cards li .badge.answering").wait_for()  # until its document is ready
    _ingest_all(server, headers, bot_id)
    page.get_by_label("Show resolved questions").check()
    page.locator(".cards li .badge.resolved").wait_for()

    # Usage.
    page.get_by_role("link", name="Usage").click()
    chart = page.get_by_role("img", name=re.compile(r"Questions per day"))
    chart.locator("rect").nth(29).wait_for(state="attached")
    assert chart.locator("rect").count() == 30
    assert "refunds.txt" in page.get_by_role("main").inner_text()

    # Settings: retrieval mode and relevance floor, saved through the API.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Retrieval").select_option("keyword")
    page.get_by_label("Relevance floor (min_score)").fill("0.2")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Saved.").wait_for()
    saved = httpx.get(f"{server.base}{API}/bots/{bot_id}", headers=headers).json()
    assert (saved["retrieval_mode"], saved["min_score"]) == ("keyword", 0.2)

    # API keys: shown once, copied, revoked.
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("heading", name="API keys").wait_for()
    page.get_by_label("Name").fill("ci")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("pre.snippet").inner_text()
    assert key.startswith("cs_")
    assert httpx.get(f"{server.base}{API}/bots", headers={"X-API-Key": key}).status_code == 200
    page.get_by_role("list", name="API keys").get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    page.get_by_role("list", name="API keys").get_by_text("ci").wait_for(state="detached")
    assert httpx.get(f"{server.base}{API}/bots", headers={"X-API-Key": key}).status_code == 401

    # Small screens: nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 740})
    for hash_ in ("#/bots", f"#/bots/{bot_id}/documents", f"#/bots/{bot_id}/unanswered"):
        page.goto(f"{server.base}/{hash_}")
        page.get_by_role("main").locator("h1").first.wait_for()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 375, hash_

    # Sign out ends the session, even after a reload.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    page.reload()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert dialogs == []
    page.close()
