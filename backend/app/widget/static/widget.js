/* ChatSphere widget: <script src="https://HOST/widget.js" data-bot="PUBLIC_KEY" async></script>
 * Optional: data-position="left|right", data-color="#rrggbb", data-open="true".
 * API: ChatSphere.open(), ChatSphere.close(), ChatSphere.ask(text).
 * Everything renders inside an open Shadow DOM and is built with DOM calls: nothing a
 * visitor, document or model supplies is ever parsed as HTML. No eval, no inline handlers. */
(function () {
  "use strict";
  if (window.ChatSphere && window.ChatSphere.version) return;

  var script = document.currentScript ||
    document.querySelector('script[data-bot][src*="widget.js"]');
  if (!script) return;
  var botKey = script.getAttribute("data-bot") || "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(botKey)) return;
  var base = new URL(script.src, location.href).origin;
  var api = base + "/api/v1/widget/" + encodeURIComponent(botKey);
  var position = script.getAttribute("data-position") === "left" ? "left" : "right";
  var attrColor = script.getAttribute("data-color");
  var storageKey = "chatsphere:" + botKey;

  var state = { config: null, token: null, open: false, busy: false, ready: false, queue: [] };

  // --- Storage (may be unavailable: sandboxed frames, privacy modes) -------------------
  function loadToken() {
    try { return JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { return null; }
  }
  function saveToken(session) {
    try { localStorage.setItem(storageKey, JSON.stringify(session)); } catch (e) { /* memory only */ }
  }

  // --- DOM helpers -----------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var name in attrs) {
        if (name === "text") node.textContent = attrs[name];
        else if (name === "className") node.className = attrs[name];
        else node.setAttribute(name, attrs[name]);
      }
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var SVG = "http://www.w3.org/2000/svg";
  var ICONS = {
    chat: "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z",
    thumb: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"
  };
  function icon(name, flip) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "icon" + (flip ? " flip" : ""));
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  var CSS = [
    ".icon{width:24px;height:24px;vertical-align:middle}.rate .icon{width:15px;height:15px}.flip{transform:rotate(180deg)}",
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    ".launcher{position:fixed;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:var(--cs-color);color:#fff;cursor:pointer;z-index:2147483646;line-height:0;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #1f6feb;outline-offset:2px}",
    ".panel{position:fixed;bottom:88px;width:370px;max-width:calc(100vw - 40px);height:560px;",
    "max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;color:#1a1a1a;",
    "border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.25);overflow:hidden;z-index:2147483647;font-size:15px;line-height:1.45}",
    ".panel[hidden]{display:none}",
    ".left{left:20px}.right{right:20px}",
    "header{display:flex;align-items:center;gap:6px;padding:12px 14px;background:var(--cs-color);color:#fff}",
    "header h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    "header button{background:transparent;border:1px solid rgba(255,255,255,.6);color:#fff;border-radius:8px;padding:4px 8px;cursor:pointer;font-size:13px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px}",
    ".msg{max-width:88%;padding:8px 11px;border-radius:12px;white-space:normal;overflow-wrap:anywhere}",
    ".msg p{margin:0 0 6px}.msg p:last-child{margin:0}.msg ul,.msg ol{margin:4px 0;padding-left:20px}",
    ".user{align-self:flex-end;background:var(--cs-color);color:#fff}",
    ".assistant{align-self:flex-start;background:#f1f3f5}",
    ".welcome{align-self:flex-start;background:#f1f3f5}",
    ".sources{margin:6px 0 0;padding:6px 0 0 18px;border-top:1px solid #dde1e5;font-size:12.5px;color:#444}",
    ".rate{display:flex;gap:6px;margin-top:6px}",
    ".rate button{border:1px solid #c9ced4;background:#fff;color:#555;border-radius:6px;cursor:pointer;padding:3px 8px;line-height:0}",
    ".rate button[aria-pressed=true]{background:#dbe9ff;border-color:#1f6feb}",
    ".suggestions{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}",
    ".suggestions button{border:1px solid var(--cs-color);color:#1a1a1a;background:#fff;border-radius:14px;padding:4px 10px;cursor:pointer;font-size:13px}",
    ".status{padding:6px 12px;font-size:13px;color:#8a1c1c;background:#fff4f4;display:flex;gap:8px;align-items:center}",
    ".status[hidden]{display:none}",
    ".status button{border:1px solid #8a1c1c;background:#fff;color:#8a1c1c;border-radius:6px;cursor:pointer;font-size:12px}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7ea}",
    "textarea{flex:1;resize:none;border:1px solid #c9ced4;border-radius:8px;padding:8px;font-size:16px;height:42px;color:#1a1a1a;background:#fff}",
    "form button{border:0;border-radius:8px;background:var(--cs-color);color:#fff;padding:0 14px;cursor:pointer;font-size:14px}",
    "form button:disabled{opacity:.5;cursor:default}",
    "a{color:#0b57d0}",
    "@media (max-width:480px){.panel{inset:0;width:100%;max-width:100%;height:100%;max-height:100%;border-radius:0}",
    ".launcher{bottom:14px}}"
  ].join("");

  // --- Building the widget ---------------------------------------------------------------
  var host = el("div", { "data-chatsphere": "" });
  host.style.setProperty("all", "initial");
  var root = host.attachShadow({ mode: "open" });
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    root.appendChild(el("style", { text: CSS }));
  }

  var launcher = el("button", { className: "launcher " + position, type: "button",
    "aria-label": "Open chat", "aria-expanded": "false" }, [icon("chat")]);
  var title = el("h2", { text: "Chat" });
  var newButton = el("button", { type: "button", text: "New conversation" });
  var closeButton = el("button", { type: "button", "aria-label": "Close chat", text: "\u2715" });
  var log = el("div", { className: "log", role: "log", "aria-live": "polite" });
  var suggestions = el("div", { className: "suggestions" });
  var statusText = el("span");
  var retryButton = el("button", { type: "button", text: "Retry", hidden: "" });
  var status = el("div", { className: "status", role: "status", hidden: "" }, [statusText, retryButton]);
  var input = el("textarea", { "aria-label": "Message", placeholder: "Ask a question\u2026", maxlength: "4000", rows: "1" });
  var sendButton = el("button", { type: "submit", text: "Send" });
  var form = el("form", {}, [input, sendButton]);
  var panel = el("div", { className: "panel " + position, role: "dialog", "aria-label": "Chat", hidden: "" },
    [el("header", {}, [title, newButton, closeButton]), log, suggestions, status, form]);
  root.appendChild(launcher);
  root.appendChild(panel);

  function setColor(color) {
    var safe = /^#[0-9a-fA-F]{6}$/.test(color || "") ? color : "#2b59c3";
    host.style.setProperty("--cs-color", safe);
  }
  setColor(attrColor);

  // --- Safe rendering: a tiny markdown subset, as DOM nodes -------------------------------
  function inline(parent, text) {
    var pattern = /\*\*([^*]+)\*\*|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>()]+)/g;
    var last = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1] !== undefined) parent.appendChild(el("strong", { text: match[1] }));
      else parent.appendChild(link(match[2] || match[4], match[3] || match[4]));
      last = pattern.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function link(label, href) {
    var url;
    try { url = new URL(href); } catch (e) { return document.createTextNode(label); }
    if (url.protocol !== "http:" && url.protocol !== "https:") return document.createTextNode(label);
    return el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer", text: label });
  }
  function renderMarkdown(container, text) {
    container.textContent = "";
    text.split(/\n{2,}/).forEach(function (block) {
      var lines = block.split("\n").filter(function (l) { return l.trim() !== ""; });
      if (!lines.length) return;
      var bullets = lines.every(function (l) { return /^\s*[-*]\s+/.test(l); });
      var numbers = lines.every(function (l) { return /^\s*\d+[.)]\s+/.test(l); });
      if (bullets || numbers) {
        var list = el(bullets ? "ul" : "ol");
        lines.forEach(function (l) {
          var item = el("li");
          inline(item, l.replace(/^\s*(?:[-*]|\d+[.)])\s+/, ""));
          list.appendChild(item);
        });
        container.appendChild(list);
      } else {
        var p = el("p");
        lines.forEach(function (l, i) { if (i) p.appendChild(el("br")); inline(p, l); });
        container.appendChild(p);
      }
    });
  }

  function addBubble(role, text) {
    var bubble = el("div", { className: "msg " + role });
    var body = el("div");
    bubble.appendChild(body);
    if (role === "assistant") renderMarkdown(body, text || ""); else body.textContent = text || "";
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    return { bubble: bubble, body: body };
  }
  function addSources(bubble, sources) {
    if (!sources || !sources.length) return;
    var list = el("ol", { className: "sources", "aria-label": "Sources" });
    sources.forEach(function (s) {
      var label = s.document_name + (s.page ? ", page " + s.page : "");
      var item = el("li", { value: String(s.number), text: label });
      item.title = (s.text || "").slice(0, 300);
      list.appendChild(item);
    });
    bubble.appendChild(list);
  }
  function addRating(bubble, messageId, current) {
    var up = el("button", { type: "button", "aria-label": "Helpful", "aria-pressed": String(current === "up") }, [icon("thumb")]);
    var down = el("button", { type: "button", "aria-label": "Not helpful", "aria-pressed": String(current === "down") }, [icon("thumb", true)]);
    function rate(rating) {
      call("POST", "/messages/" + encodeURIComponent(messageId) + "/feedback", { rating: rating })
        .then(function () {
          up.setAttribute("aria-pressed", String(rating === "up"));
          down.setAttribute("aria-pressed", String(rating === "down"));
        }, showError);
    }
    up.addEventListener("click", function () { rate("up"); });
    down.addEventListener("click", function () { rate("down"); });
    bubble.appendChild(el("div", { className: "rate" }, [up, down]));
  }

  // --- Talking to the API ------------------------------------------------------------------
  function ApiError(status, code, message, retryAfter) {
    this.status = status; this.code = code; this.message = message; this.retryAfter = retryAfter;
  }
  function request(method, path, body, withToken) {
    var headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (withToken && state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(api + path, {
      method: method, headers: headers, credentials: "omit", mode: "cors",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (response.ok) return response;
      return response.json().catch(function () { return {}; }).then(function (payload) {
        var error = (payload && payload.error) || {};
        throw new ApiError(response.status, error.code || "error", error.message || "",
          parseInt(response.headers.get("Retry-After") || "0", 10));
      });
    });
  }
  function call(method, path, body) {
    return request(method, path, body, true).catch(function (error) {
      if (error instanceof ApiError && error.status === 401) {
        return startSession(false).then(function () { return request(method, path, body, true); });
      }
      throw error;
    }).then(function (r) { return r.json(); });
  }
  function startSession(fresh) {
    var stored = loadToken();
    return request("POST", "/sessions", {
      session_token: stored && stored.token ? stored.token : null,
      new_conversation: !!fresh
    }).then(function (r) { return r.json(); }).then(function (session) {
      state.token = session.session_token;
      saveToken({ token: session.session_token });
      return session;
    });
  }

  function showStatus(text, retry) {
    statusText.textContent = text;
    status.hidden = false;
    retryButton.hidden = !retry;
    retryButton.onclick = retry ? function () { clearStatus(); retry(); } : null;
  }
  function clearStatus() { status.hidden = true; statusText.textContent = ""; }
  function showError(error, retry) {
    if (!(error instanceof ApiError)) {
      // A refused site gets no CORS headers, which looks like a network error: the script
      // itself is served to every site, so if it answers, the bot refused this site.
      return fetch(base + "/widget.js", { method: "HEAD", mode: "cors", cache: "no-store" }).then(
        function () { showStatus("This assistant isn't available on this site."); },
        function () { showStatus("You seem to be offline.", retry); });
    }
    var messages = {
      rate_limited: "You're sending messages too quickly. Try again in " + Math.max(1, error.retryAfter || 1) + " seconds.",
      plan_limit_reached: "This assistant can't answer more questions this month.",
      bot_inactive: "This assistant is switched off right now.",
      origin_not_allowed: "This assistant isn't available on this site.",
      bot_not_found: "This assistant isn't available.",
      conversation_too_long: "This conversation is full. Start a new conversation."
    };
    var text = messages[error.code] ||
      (error.status >= 500 ? "The assistant is unavailable right now. Please try again." : (error.message || "Something went wrong."));
    showStatus(text, error.status >= 500 ? retry : null);
  }

  // --- Conversation ------------------------------------------------------------------------
  function showWelcome() {
    log.textContent = "";
    var config = state.config || {};
    if (config.welcome_message) {
      var welcome = el("div", { className: "msg welcome" });
      renderMarkdown(welcome, config.welcome_message);
      log.appendChild(welcome);
    }
    suggestions.textContent = "";
    (config.suggested_questions || []).forEach(function (q) {
      var b = el("button", { type: "button", text: q });
      b.addEventListener("click", function () { ask(q); });
      suggestions.appendChild(b);
    });
  }
  function loadHistory() {
    return call("GET", "/messages?limit=100").then(function (page) {
      if (page.items.length) suggestions.textContent = "";
      page.items.forEach(function (m) {
        var b = addBubble(m.role, m.content);
        if (m.role === "assistant") {
          addSources(b.bubble, m.sources);
          if (m.status !== "failed") addRating(b.bubble, m.id, m.feedback);
        }
      });
    });
  }
  function boot() {
    clearStatus();
    return request("GET", "/config").then(function (r) { return r.json(); }).then(function (config) {
      state.config = config;
      title.textContent = config.name;
      panel.setAttribute("aria-label", config.name);
      if (!attrColor) setColor(config.theme_color);
      showWelcome();
      var stored = loadToken();
      state.token = stored && stored.token;
      return startSession(false);
    }).then(loadHistory).then(function () {
      state.ready = true;
      var queued = state.queue.splice(0);
      queued.forEach(ask);
    }, function (error) { showError(error, boot); });
  }

  function parseEvents(buffer, onEvent) {
    var parts = buffer.split(/\r?\n\r?\n/);
    var rest = parts.pop();
    parts.forEach(function (block) {
      var name = "message", data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.charAt(0) === ":") return;  // keep-alive comment
        var colon = line.indexOf(":");
        var field = colon < 0 ? line : line.slice(0, colon);
        var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value; else if (field === "data") data.push(value);
      });
      if (data.length) {
        try { onEvent(name, JSON.parse(data.join("\n"))); } catch (e) { /* not ours */ }
      }
    });
    return rest;
  }

  function send(text) {
    state.busy = true;
    sendButton.disabled = true;
    clearStatus();
    suggestions.textContent = "";
    addBubble("user", text);
    var answer = addBubble("assistant", "");
    answer.body.textContent = "\u2026";
    var content = "", sources = [], finished = false;
    function onEvent(name, data) {
      if (name === "sources") sources = data;
      else if (name === "token") {
        content += data.delta;
        answer.body.textContent = content;  // plain text while it streams
        log.scrollTop = log.scrollHeight;
      } else if (name === "done") {
        finished = true;
        renderMarkdown(answer.body, content);
        addSources(answer.bubble, sources);
        addRating(answer.bubble, data.message_id, null);
      } else if (name === "error") {
        finished = true;
        if (!content) answer.bubble.remove();
        showError(new ApiError(500, data.code, data.message, data.retry_after || 0));
      }
    }
    function post(retried) {
      return request("POST", "/messages", { content: text }, true).catch(function (error) {
        if (!retried && error instanceof ApiError && error.status === 401) {
          return startSession(false).then(function () { return post(true); });
        }
        throw error;
      });
    }
    return post(false).then(function (response) {
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffer = parseEvents(buffer + decoder.decode(chunk.value, { stream: true }), onEvent);
          return pump();
        });
      }
      return pump();
    }).then(function () {
      if (!finished) throw new Error("stream ended early");
    }).catch(function (error) {
      if (!content) answer.bubble.remove();
      showError(error, function () { send(text); });
    }).then(function () {
      state.busy = false;
      sendButton.disabled = false;
    });
  }

  function ask(text) {
    text = String(text || "").trim().slice(0, 4000);
    if (!text) return;
    open();
    if (!state.ready || state.busy) { state.queue.push(text); return; }
    send(text).then(function () {
      var next = state.queue.shift();
      if (next) ask(next);
    });
  }

  function open() {
    if (state.open) return;
    state.open = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat");
    input.focus();
  }
  function close() {
    if (!state.open) return;
    state.open = false;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (state.open) close(); else open(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") close(); });
  newButton.addEventListener("click", function () {
    if (state.busy) return;
    startSession(true).then(showWelcome, function (error) { showError(error); });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    ask(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  window.ChatSphere = { version: 1, open: open, close: close, ask: ask };

  function mount() {
    document.body.appendChild(host);
    boot();
    if (script.getAttribute("data-open") === "true") open();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
