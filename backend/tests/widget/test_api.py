"""The widget's API as a visitor's browser uses it: config, sessions, streamed answers with
sources, the visitor's own history and feedback; and the owner's view of it."""

from __future__ import annotations

import uuid

from tests.chat.conftest import parse_sse
from tests.widget.conftest import API, SITE, new_session, site


async def test_config_shows_what_the_widget_needs_and_nothing_more(client, shop):
    r = await client.get(f"{shop.base}/config", headers=site())
    assert r.status_code == 200, r.text
    assert r.json() == {
        "name": "Shop", "welcome_message": "Hi!",
        "suggested_questions": ["How do refunds work?"], "theme_color": "#aa3300",
    }  # fmt: skip


async def test_a_visitor_asks_and_gets_a_streamed_answer_with_sources(client, shop):
    session = await new_session(client, shop)
    assert session["visitor_id"].startswith("v_") and session["expires_in"] == 24 * 3600
    r = await client.post(
        f"{shop.base}/messages", json={"content": "How many days do I have for a refund?"},
        headers=site(token=session["session_token"]),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and "token" in names
    assert events[0][1][0]["document_name"] == "Refund policy"
    answer = "".join(data["delta"] for name, data in events if name == "token")
    assert "30 days" in answer
    done = events[-1][1]
    assert done["conversation_id"] == session["conversation_id"]

    r = await client.get(f"{shop.base}/messages", headers=site(token=session["session_token"]))
    items = r.json()["items"]
    assert [m["role"] for m in items] == ["user", "assistant"]
    assert items[1]["id"] == done["message_id"] and items[1]["sources"]
    assert items[1]["feedback"] is None
    r = await client.get(
        f"{shop.base}/messages?order=desc", headers=site(token=session["session_token"])
    )
    assert [m["role"] for m in r.json()["items"]] == ["assistant", "user"]


async def test_history_continues_after_renewal_and_a_new_conversation_starts_empty(client, shop):
    first = await new_session(client, shop)
    token = first["session_token"]
    await client.post(
        f"{shop.base}/messages", json={"content": "refund?"}, headers=site(token=token)
    )
    renewed = await new_session(client, shop, session_token=token)
    assert renewed["visitor_id"] == first["visitor_id"]
    assert renewed["conversation_id"] == first["conversation_id"]
    r = await client.get(f"{shop.base}/messages", headers=site(token=renewed["session_token"]))
    assert r.json()["total"] == 2

    fresh = await new_session(client, shop, session_token=token, new_conversation=True)
    assert fresh["visitor_id"] == first["visitor_id"]
    assert fresh["conversation_id"] != first["conversation_id"]
    r = await client.get(f"{shop.base}/messages", headers=site(token=fresh["session_token"]))
    assert r.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


async def test_feedback_on_own_answers_only(client, shop):
    mine = await new_session(client, shop)
    r = await client.post(
        f"{shop.base}/messages",
        json={"content": "refund?"},
        headers=site(token=mine["session_token"]),
    )
    message_id = parse_sse(r.text)[-1][1]["message_id"]
    url = f"{shop.base}/messages/{message_id}/feedback"
    r = await client.post(url, json={"rating": "down", "comment": "too short"},
                          headers=site(token=mine["session_token"]))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["rating"] == "down"
    r = await client.get(f"{shop.base}/messages", headers=site(token=mine["session_token"]))
    assert r.json()["items"][1]["feedback"] == "down"

    other = await new_session(client, shop)  # another visitor can't rate (or see) it
    r = await client.post(url, json={"rating": "up"}, headers=site(token=other["session_token"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "message_not_found"
    r = await client.get(f"{shop.base}/messages", headers=site(token=other["session_token"]))
    assert r.json()["total"] == 0
    user_message = (
        await client.get(f"{shop.base}/messages", headers=site(token=mine["session_token"]))
    ).json()["items"][0]["id"]
    r = await client.post(f"{shop.base}/messages/{user_message}/feedback", json={"rating": "up"},
                          headers=site(token=mine["session_token"]))  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["code"] == "feedback_not_allowed"
    r = await client.post(f"{shop.base}/messages/{uuid.uuid4()}/feedback", json={"rating": "sideways"},
                          headers=site(token=mine["session_token"]))  # fmt: skip
    assert r.status_code == 422


async def test_the_owner_reads_visitor_conversations_with_their_origin_but_cannot_post(
    client, shop
):
    session = await new_session(client, shop)
    await client.post(
        f"{shop.base}/messages",
        json={"content": "refund?"},
        headers=site(token=session["session_token"]),
    )
    r = await client.get(f"{API}/bots/{shop.bot['id']}/conversations", headers=shop.owner)
    conversation = r.json()["items"][0]
    assert conversation["id"] == session["conversation_id"]
    assert conversation["visitor_id"] == session["visitor_id"] and conversation["origin"] == SITE
    assert conversation["message_count"] == 2 and conversation["title"] == "refund?"
    r = await client.get(f"{API}/conversations/{conversation['id']}/messages", headers=shop.owner)
    assert [m["role"] for m in r.json()["items"]] == ["user", "assistant"]
    r = await client.post(f"{API}/conversations/{conversation['id']}/messages",
                          json={"content": "hello"}, headers=shop.owner)  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["code"] == "conversation_read_only"


async def test_another_owner_sees_none_of_it(client, shop, make_user):
    session = await new_session(client, shop)
    await client.post(
        f"{shop.base}/messages",
        json={"content": "refund?"},
        headers=site(token=session["session_token"]),
    )
    stranger = await make_user()
    r = await client.get(f"{API}/conversations/{session['conversation_id']}", headers=stranger)
    assert r.status_code == 404
    r = await client.get(f"{API}/bots/{shop.bot['id']}/embed", headers=stranger)
    assert r.status_code == 404


async def test_embed_gives_the_snippet_and_the_preview(client, shop):
    r = await client.get(f"{API}/bots/{shop.bot['id']}/embed", headers=shop.owner)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["snippet"] == (
        f'<script src="http://localhost:8000/widget.js" data-bot="{shop.key}" async></script>'
    )
    assert body["preview_url"] == f"http://localhost:8000/api/v1/widget/{shop.key}/preview"
    assert body["allowed_origins"] == [SITE]


async def test_the_preview_page_runs_the_widget_under_a_strict_policy(client, shop):
    r = await client.get(f"{shop.base}/preview")  # a page opened directly: no Origin
    assert r.status_code == 200
    assert f'data-bot="{shop.key}"' in r.text and 'src="/widget.js"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert "<script>" not in r.text  # no inline script
    r = await client.get(f"{API}/widget/pk_nope/preview")
    assert r.status_code == 404 and r.json()["error"]["code"] == "bot_not_found"
    r = await client.get(f"{API}/widget/<script>/preview")
    assert r.status_code == 404


async def test_bad_input_is_refused_in_the_envelope(client, shop):
    session = await new_session(client, shop)
    headers = site(token=session["session_token"])
    for body in ({}, {"content": ""}, {"content": "x" * 4001}, {"content": "hi", "extra": 1}):
        r = await client.post(f"{shop.base}/messages", json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "validation_error"
    r = await client.post(
        f"{shop.base}/sessions", json={"session_token": "x" * 5000}, headers=site()
    )
    assert r.status_code == 422
