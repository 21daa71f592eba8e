"""The widget in a real browser, embedded the way owners embed it."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import API, make_owner, serve_directory

pytestmark = pytest.mark.browser

REFUNDS = "Refunds are accepted within 30 days of purchase with a receipt."
HOSTILE = (
    'Shipping <img src=x onerror="window.__pwned = 1"> takes five days. '
    "<script>window.__pwned = 2</script> **Tracking** is at javascript:alert(1) and "
    "https://example.com/track."
)


@pytest.fixture(scope="module")
def bot(server, host_site) -> dict:
    owner = make_owner(server.base)
    with httpx.Client(base_url=f"{server.base}{API}", headers=owner) as http_client:
        bot = http_client.post("/bots", json={
            "name": "Shop assistant", "welcome_message": "Hello! Ask me about refunds.",
            "suggested_questions": ["How long do refunds take?"],
            "allowed_origins": [host_site.origin], "theme_color": "#0a7d32",
        }).json()  # fmt: skip
        documents = [
            http_client.post(f"/bots/{bot['id']}/documents/text",
                             json={"title": title, "content": content}).json()["id"]
            for title, content in (("Refund policy", REFUNDS), ("Shipping", HOSTILE))
        ]  # fmt: skip
    server.ingest(*documents)
    return bot


def embed(server, bot, extra_head: str = "", attrs: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{extra_head}<title>Shop</title>"
        f"</head><body><h1>My shop</h1><p>Welcome.</p>"
        f'<script src="{server.base}/widget.js" data-bot="{bot["public_key"]}" {attrs} async>'
        f"</script></body></html>"
    )


def ask(page, question: str) -> None:
    widget = page.locator("[data-chatsphere]")
    box = widget.get_by_role("textbox", name="Message")
    box.fill(question)
    box.press("Enter")


def last_answer(page):
    return page.locator("[data-chatsphere] .msg.assistant").last


def test_a_visitor_asks_sees_the_streamed_cited_answer_and_history_after_reload(
    browser, server, host_site, bot
):
    url = host_site.page("shop.html", embed(server, bot))
    page = browser.new_page()
    page.goto(url)
    widget = page.locator("[data-chatsphere]")
    widget.get_by_role("button", name="Open chat").click()
    dialog = widget.get_by_role("dialog", name="Shop assistant")
    dialog.wait_for()
    assert dialog.get_by_text("Hello! Ask me about refunds.").is_visible()
    dialog.get_by_role("button", name="How long do refunds take?").click()
    answer = last_answer(page)
    answer.get_by_role("button", name="Helpful", exact=True).wait_for(timeout=15_000)
    assert "30 days" in answer.inner_text()
    sources = answer.get_by_role("list", name="Sources")
    assert "Refund policy" in sources.inner_text()
    answer.get_by_role("button", name="Not helpful").click()
    page.wait_for_function(
        "() => document.querySelector('[data-chatsphere]').shadowRoot"
        ".querySelector('.msg.assistant:last-child [aria-label=\"Not helpful\"]')"
        ".getAttribute('aria-pressed') === 'true'"
    )
    token_key = page.evaluate("() => Object.keys(localStorage)")
    assert token_key == [f"chatsphere:{bot['public_key']}"]

    page.reload()
    widget.get_by_role("button", name="Open chat").click()
    restored = page.locator("[data-chatsphere] .msg.assistant")
    restored.first.wait_for()
    assert "30 days" in restored.first.inner_text()
    assert page.locator("[data-chatsphere] .msg.user").first.inner_text() == (
        "How long do refunds take?"
    )
    pressed = restored.first.get_by_role("button", name="Not helpful").get_attribute("aria-pressed")
    assert pressed == "true"

    # New conversation: an empty log, and the old one stays the owner's to read.
    widget.get_by_role("button", name="New conversation").click()
    # The restored log already shows the welcome: wait for the new session to clear it.
    page.wait_for_function(
        "() => document.querySelector('[data-chatsphere]').shadowRoot"
        ".querySelectorAll('.msg.user').length === 0"
    )
    page.locator("[data-chatsphere] .msg.welcome").wait_for()
    page.close()


def test_a_site_that_is_not_allowed_gets_a_plain_message(browser, server, bot, tmp_path):
    (tmp_path / "other.html").write_text(embed(server, bot))
    httpd = serve_directory(tmp_path)  # an origin the bot does not list
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/other.html")
        page.locator("[data-chatsphere]").get_by_role("button", name="Open chat").click()
        status = page.locator("[data-chatsphere]").get_by_role("status")
        status.wait_for()
        assert "isn't available on this site" in status.inner_text()
        page.close()
    finally:
        httpd.shutdown()


def test_markup_from_a_document_is_shown_as_text_and_never_runs(browser, server, host_site, bot):
    url = host_site.page("markup.html", embed(server, bot, attrs='data-open="true"'))
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url)
    page.evaluate("() => window.ChatSphere.ask('How long does shipping take?')")
    answer = last_answer(page)
    answer.get_by_role("button", name="Helpful", exact=True).wait_for(timeout=15_000)
    text = answer.inner_text()
    assert "<img src=x" in text and "<script>" in text  # shown, as text
    assert page.evaluate("() => window.__pwned") is None
    shadow_imgs = page.evaluate(
        "() => document.querySelector('[data-chatsphere]').shadowRoot.querySelectorAll('img, script').length"
    )
    assert shadow_imgs == 0
    links = answer.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["https://example.com/track."] or hrefs == ["https://example.com/track"]
    assert links.first.get_attribute("rel") == "noopener noreferrer"
    assert answer.locator("strong").first.inner_text() == "Tracking"
    assert dialogs == []
    page.close()


def test_hostile_host_styles_do_not_reach_the_widget(browser, server, host_site, bot):
    css = ("<style>* { font-size: 3px !important; color: red !important; }"
           " button { display: none !important; } p { visibility: hidden !important; }</style>")  # fmt: skip
    page = browser.new_page()
    page.goto(host_site.page("hostile.html", embed(server, bot, extra_head=css)))
    launcher = page.locator("[data-chatsphere]").get_by_role("button", name="Open chat")
    assert launcher.is_visible()
    launcher.click()
    box = page.locator("[data-chatsphere]").get_by_role("textbox", name="Message")
    assert box.is_visible()
    size = box.evaluate("(el) => getComputedStyle(el).fontSize")
    assert size == "16px"  # no zoom on iOS
    page.close()


def test_small_screens_get_a_full_screen_panel_and_the_keyboard_works(
    browser, server, host_site, bot
):
    page = browser.new_page(viewport={"width": 375, "height": 700})
    page.goto(host_site.page("phone.html", embed(server, bot)))
    widget = page.locator("[data-chatsphere]")
    widget.get_by_role("button", name="Open chat").click()
    dialog = widget.get_by_role("dialog")
    dialog.wait_for()
    box = dialog.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 375, "height": 700}
    focused = page.evaluate(
        "() => document.querySelector('[data-chatsphere]').shadowRoot.activeElement.getAttribute('aria-label')"
    )
    assert focused == "Message"
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    page.close()


def test_a_strict_host_policy_is_enough(browser, server, host_site, bot):
    csp = (f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           f"script-src {server.base}; connect-src {server.base}\">")  # fmt: skip
    page = browser.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(
        host_site.page("strict.html", embed(server, bot, extra_head=csp, attrs='data-open="true"'))
    )
    ask(page, "How many days do I have for a refund?")
    answer = last_answer(page)
    answer.get_by_role("button", name="Helpful", exact=True).wait_for(timeout=15_000)
    assert "30 days" in answer.inner_text()
    assert violations == []
    page.close()


def test_the_preview_page_runs_the_widget_on_the_apps_own_origin(browser, server, bot):
    page = browser.new_page()
    page.goto(f"{server.base}{API}/widget/{bot['public_key']}/preview")
    dialog = page.locator("[data-chatsphere]").get_by_role("dialog", name="Shop assistant")
    dialog.wait_for()
    ask(page, "How long do refunds take?")
    last_answer(page).get_by_role("button", name="Helpful", exact=True).wait_for(timeout=15_000)
    assert "30 days" in last_answer(page).inner_text()
    page.close()
