// ChatSphere dashboard: a no-build ES module on the public API. Every node is built with DOM
// calls (never HTML strings); the access token lives in this module's memory only, and the
// refresh token in an HttpOnly cookie the page cannot read.

const API = "/api/v1";
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const toast = document.getElementById("toast");
let accessToken = null;
let pollTimer = null;
let watcher = null;  // the documents page's live-progress stream

// --- DOM -----------------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "className") node.className = value;
    else if (name === "value") node.value = value;
    else if (name === "checked") node.checked = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}
function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}
function show(...nodes) {
  main.replaceChildren(...nodes);
  main.focus({ preventScroll: true });
}
function notify(text) {
  toast.textContent = text;
  setTimeout(() => { if (toast.textContent === text) toast.textContent = ""; }, 4000);
}
function errorBox(error) {
  return h("p", { className: "error", role: "alert", text: error.message || String(error) });
}
function when(value) {
  return value ? new Date(value).toLocaleString() : "never";
}
function field(label, input, hint) {
  const id = "f-" + Math.random().toString(36).slice(2);
  input.id = id;
  return h("div", { className: "field" }, h("label", { for: id, text: label }), input,
    hint ? h("small", { text: hint }) : null);
}

// --- API -----------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status; this.code = code; this.details = details || {};
  }
}
async function parse(response) {
  if (response.status === 204) return null;
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = body.error || {};
    let message = e.message || `Request failed (${response.status})`;
    if (e.code === "validation_error" && Array.isArray(e.details?.errors)) {
      message = e.details.errors.map((x) => `${(x.loc || []).slice(1).join(".")}: ${x.msg}`).join("; ");
    }
    throw new ApiError(response.status, e.code, message, e.details);
  }
  return body;
}
async function session(method, path, body) {
  const response = await fetch(API + "/auth/session" + path, {
    method, credentials: "same-origin",
    headers: { "X-Requested-With": "chatsphere", ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return parse(response);
}
async function refresh() {
  // One refresh at a time across tabs: two would trip the reuse detection.
  const run = async () => {
    const started = await session("POST", "/refresh");
    accessToken = started.access_token;
  };
  if (navigator.locks) await navigator.locks.request("chatsphere-refresh", run); else await run();
}
async function api(path, { method = "GET", body, form } = {}, retried = false) {
  const headers = {};
  if (accessToken) headers.Authorization = "Bearer " + accessToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method, headers, credentials: "same-origin",
    body: form || (body !== undefined ? JSON.stringify(body) : undefined),
  });
  if (response.status === 401 && !retried) {
    try { await refresh(); } catch { signedOut(); throw new ApiError(401, "not_authenticated", "Please sign in."); }
    return api(path, { method, body, form }, true);
  }
  return parse(response);
}
function upload(path, file, onProgress) {
  // XHR, for upload progress (fetch has none).
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", API + path);
    xhr.setRequestHeader("Authorization", "Bearer " + accessToken);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const e = body.error || {};
        reject(new ApiError(xhr.status, e.code, e.message || `Upload failed (${xhr.status})`, e.details));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload was interrupted.")));
    const form = new FormData();
    form.append("file", file);
    xhr.send(form);
  });
}

// --- Routing ---------------------------------------------------------------------------------
function signedOut() {
  accessToken = null;
  nav.hidden = true;
  if (!location.hash.startsWith("#/signup")) location.hash = "#/signin";
}
async function route() {
  clearInterval(pollTimer);
  if (watcher) { watcher.abort(); watcher = null; }
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [page = "bots", id, tab = "documents"] = parts;
  if (page === "signin") return signInView();
  if (page === "signup") return signUpView();
  if (!accessToken) {
    try { await refresh(); } catch { return signedOut(); }
  }
  nav.hidden = false;
  try {
    if (page === "bots" && id === "new") return botForm(null);
    if (page === "bots" && id) return botView(id, tab);
    if (page === "keys") return keysView();
    if (page === "billing") return billingView();
    if (page === "account") return accountView();
    return botsView();
  } catch (error) {
    if (error.status === 401) return signedOut();
    show(h("h1", { text: "Something went wrong" }), errorBox(error));
  }
}
window.addEventListener("hashchange", route);
document.getElementById("sign-out").addEventListener("click", async () => {
  try { await session("DELETE", ""); } catch { /* already gone */ }
  signedOut();
  notify("Signed out.");
});

// --- Sign in / sign up ---------------------------------------------------------------------
function signInView() {
  const email = h("input", { type: "email", required: true, autocomplete: "email" });
  const password = h("input", { type: "password", required: true, autocomplete: "current-password" });
  const status = h("div");
  const form = h("form", { className: "card narrow", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const started = await session("POST", "", { email: email.value, password: password.value });
      accessToken = started.access_token;
      location.hash = "#/bots";
      route();
    } catch (error) { status.replaceChildren(errorBox(error)); }
  } }, h("h1", { text: "Sign in" }), field("Email", email), field("Password", password), status,
  h("button", { type: "submit", text: "Sign in" }),
  h("p", {}, "No account yet? ", h("a", { href: "#/signup", text: "Create one" })));
  show(form);
}
function signUpView() {
  const name = h("input", { required: true, autocomplete: "name", maxlength: "100" });
  const email = h("input", { type: "email", required: true, autocomplete: "email" });
  const password = h("input", { type: "password", required: true, minlength: "8", maxlength: "128", autocomplete: "new-password" });
  const status = h("div");
  const form = h("form", { className: "card narrow", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await parse(await fetch(API + "/auth/register", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: email.value, password: password.value, full_name: name.value }) }));
      const started = await session("POST", "", { email: email.value, password: password.value });
      accessToken = started.access_token;
      location.hash = "#/bots/new";
    } catch (error) { status.replaceChildren(errorBox(error)); }
  } }, h("h1", { text: "Create your account" }), field("Name", name), field("Email", email),
  field("Password", password, "8 to 128 characters."), status, h("button", { type: "submit", text: "Create account" }),
  h("p", {}, "Already registered? ", h("a", { href: "#/signin", text: "Sign in" })));
  show(form);
}

// --- Bots --------------------------------------------------------------------------------------
async function botsView() {
  const page = await api("/bots?limit=100");
  const list = page.items.map((bot) => h("li", { className: "card" },
    h("h2", {}, h("a", { href: `#/bots/${bot.id}`, text: bot.name })),
    h("p", { className: "muted" }, bot.is_active ? "Active" : "Switched off",
      ` · ${bot.document_count} document${bot.document_count === 1 ? "" : "s"}`,
      ` · ${bot.messages_this_month} message${bot.messages_this_month === 1 ? "" : "s"} this month`)));
  show(h("div", { className: "row" }, h("h1", { text: "Your bots" }), h("a", { className: "button", href: "#/bots/new", text: "New bot" })),
    list.length ? h("ul", { className: "cards" }, list) : h("p", { text: "No bots yet. Create one to start." }));
}

function isOrigin(value) {
  try { const u = new URL(value); return (u.protocol === "http:" || u.protocol === "https:") && u.origin === value.replace(/\/$/, ""); }
  catch { return false; }
}
function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }
function lines(text) { return text.split("\n").map((s) => s.trim()).filter(Boolean); }

function botForm(bot, container) {
  const v = bot || { name: "", description: "", system_prompt: "", welcome_message: "", fallback_message: "Sorry, I couldn't find that in my documents.",
    model: null, temperature: 0.2, top_k: 5, suggested_questions: [], allowed_origins: [], is_active: true, theme_color: null,
    retrieval_mode: "hybrid", min_score: null };
  const inputs = {
    name: h("input", { required: true, maxlength: "100", value: v.name }),
    description: h("input", { maxlength: "2000", value: v.description }),
    system_prompt: h("textarea", { rows: "4", maxlength: "8000", value: v.system_prompt }),
    welcome_message: h("input", { maxlength: "1000", value: v.welcome_message }),
    suggested_questions: h("textarea", { rows: "3", value: v.suggested_questions.join("\n") }),
    theme_color: h("input", { type: "color", value: v.theme_color || "#2b59c3" }),
    temperature: h("input", { type: "number", min: "0", max: "2", step: "0.1", value: String(v.temperature) }),
    model: h("input", { maxlength: "100", value: v.model || "", placeholder: "the server's default" }),
    top_k: h("input", { type: "number", min: "1", max: "20", step: "1", value: String(v.top_k) }),
    retrieval_mode: h("select", {}, [["hybrid", "Hybrid: keywords and meaning (recommended)"], ["semantic", "Meaning only (vectors)"],
      ["keyword", "Keywords only"]].map(([value, text]) => h("option", { value, text }))),
    min_score: h("input", { type: "number", min: "-1", max: "1", step: "0.01", value: v.min_score === null ? "" : String(v.min_score), placeholder: "default" }),
    fallback_message: h("input", { required: true, maxlength: "1000", value: v.fallback_message }),
    allowed_origins: h("textarea", { rows: "3", value: v.allowed_origins.join("\n"), placeholder: "https://shop.example.com" }),
    is_active: h("input", { type: "checkbox", checked: v.is_active }),
  };
  const status = h("div");
  const form = h("form", { className: "card", onsubmit: async (e) => {
    e.preventDefault();
    const origins = lines(inputs.allowed_origins.value);
    const bad = origins.filter((o) => !isOrigin(o));
    if (bad.length) { status.replaceChildren(errorBox(new Error(`Not an exact origin (scheme://host[:port]): ${bad.join(", ")}`))); return; }
    const body = {
      name: inputs.name.value, description: inputs.description.value, system_prompt: inputs.system_prompt.value,
      welcome_message: inputs.welcome_message.value, suggested_questions: lines(inputs.suggested_questions.value),
      theme_color: inputs.theme_color.value, temperature: Number(inputs.temperature.value),
      model: inputs.model.value.trim() || null, top_k: Number(inputs.top_k.value),
      retrieval_mode: inputs.retrieval_mode.value,
      min_score: inputs.min_score.value === "" ? null : Number(inputs.min_score.value),
      fallback_message: inputs.fallback_message.value, allowed_origins: origins, is_active: inputs.is_active.checked,
    };
    try {
      const saved = bot ? await api(`/bots/${bot.id}`, { method: "PATCH", body }) : await api("/bots", { method: "POST", body });
      notify(bot ? "Saved." : "Bot created.");
      location.hash = `#/bots/${saved.id}/${bot ? "settings" : "documents"}`;
      if (bot) route();
    } catch (error) { status.replaceChildren(errorBox(error)); }
  } },
  h("h2", { text: bot ? "Settings" : "New bot" }),
  field("Name", inputs.name), field("Description", inputs.description),
  field("System prompt", inputs.system_prompt, "How the bot should answer."),
  field("Welcome message", inputs.welcome_message, "Shown when the widget opens."),
  field("Suggested questions", inputs.suggested_questions, "One per line, up to 10."),
  field("Theme colour", inputs.theme_color), field("Temperature", inputs.temperature, "0 to 2."),
  field("Model", inputs.model), field("Sources per answer (top_k)", inputs.top_k, "1 to 20."),
  field("Retrieval", inputs.retrieval_mode),
  field("Relevance floor (min_score)", inputs.min_score, "Vector similarity a passage needs; empty: the default."),
  field("Fallback message", inputs.fallback_message, "Said when the documents have no answer."),
  field("Allowed origins", inputs.allowed_origins, "Sites the widget may run on, one exact origin per line."),
  h("div", { className: "field inline" }, inputs.is_active, h("label", { for: "", text: " Active" })),
  status, h("button", { type: "submit", text: bot ? "Save changes" : "Create bot" }));
  inputs.is_active.id = "f-active";
  inputs.retrieval_mode.value = v.retrieval_mode || "hybrid";
  form.querySelector(".inline label").setAttribute("for", "f-active");
  if (container) return form;
  show(h("h1", { text: "New bot" }), form);
}

const TABS = [["documents", "Documents"], ["try", "Try it"], ["embed", "Embed"], ["conversations", "Conversations"],
  ["unanswered", "Unanswered"], ["usage", "Usage"], ["settings", "Settings"]];

async function botView(id, tab) {
  const bot = await api(`/bots/${id}`);
  const tabs = h("nav", { className: "tabs", "aria-label": "Bot" }, TABS.map(([key, label]) =>
    h("a", { href: `#/bots/${id}/${key}`, text: label, "aria-current": key === tab ? "page" : null })));
  const body = h("section", { "aria-label": TABS.find(([k]) => k === tab)?.[1] || "Documents" });
  show(h("h1", { text: bot.name }), tabs, body);
  const views = { documents: documentsTab, try: tryTab, embed: embedTab, conversations: conversationsTab,
    unanswered: unansweredTab, usage: usageTab, settings: settingsTab };
  try { await (views[tab] || documentsTab)(bot, body); } catch (error) { body.replaceChildren(errorBox(error)); }
}

// --- Documents ---------------------------------------------------------------------------------
async function documentsTab(bot, body) {
  const uploads = h("ul", { className: "uploads", "aria-label": "Uploads" });
  const fileInput = h("input", { type: "file", multiple: true, id: "files", className: "visually-hidden" });
  const drop = h("div", { className: "drop" }, h("p", { text: "Drop PDF, TXT, Markdown, HTML or DOCX files here, or " }),
    h("label", { for: "files", className: "button", text: "Choose files" }), fileInput);
  const list = h("ul", { className: "documents", "aria-label": "Documents" });
  const startUploads = (files) => { for (const file of files) uploadOne(file); };
  const uploadOne = (file) => {
    const bar = h("progress", { max: "1", value: "0", "aria-label": `Uploading ${file.name}` });
    const state = h("span", { text: "Uploading…" });
    uploads.append(h("li", { className: "card" }, h("strong", { text: file.name }), " ", bar, " ", state));
    upload(`/bots/${bot.id}/documents`, file, (p) => { bar.value = p; })
      .then(() => { bar.value = 1; state.textContent = "Uploaded"; refreshList(); })
      .catch((error) => { bar.remove(); state.className = "error"; state.textContent = error.message; });
  };
  fileInput.addEventListener("change", () => { startUploads(fileInput.files); fileInput.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); startUploads(e.dataTransfer.files); });

  const title = h("input", { required: true, maxlength: "200" });
  const content = h("textarea", { rows: "5", required: true });
  const pasteStatus = h("div");
  const paste = h("form", { className: "card", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api(`/bots/${bot.id}/documents/text`, { method: "POST", body: { title: title.value, content: content.value } });
      title.value = ""; content.value = ""; pasteStatus.replaceChildren(); notify("Text added."); refreshList();
    } catch (error) { pasteStatus.replaceChildren(errorBox(error)); }
  } }, h("h2", { text: "Paste text" }), field("Title", title), field("Text", content), pasteStatus,
  h("button", { type: "submit", text: "Add text" }));

  const refreshList = async () => {
    const page = await api(`/bots/${bot.id}/documents?limit=100`);
    list.replaceChildren(...page.items.map((doc) => documentItem(doc, refreshList)));
    if (!page.items.length) list.replaceChildren(h("li", { text: "No documents yet." }));
  };
  body.replaceChildren(drop, uploads, h("h2", { text: "Documents" }), list, paste);
  await refreshList();
  watchDocuments(bot, refreshList);
}
// Live progress from GET /bots/{id}/documents/events (a fetch stream: EventSource can't send
// the Authorization header). Changes redraw the list, at most every half second; if the
// stream fails, the list is polled instead.
async function watchDocuments(bot, refreshList) {
  const controller = new AbortController();
  watcher = controller;
  let pending = null;
  const changed = () => { if (!pending) pending = setTimeout(() => { pending = null; refreshList(); }, 500); };
  try {
    const response = await fetch(`${API}/bots/${bot.id}/documents/events`, {
      headers: { Authorization: "Bearer " + accessToken }, signal: controller.signal });
    if (!response.ok) throw new Error("no stream");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", first = true;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split("\n\n");
      buffer = blocks.pop();
      if (blocks.some((b) => /^event: (document|deleted)$/m.test(b))) {
        if (first) first = false; else changed();
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return;
    pollTimer = setInterval(refreshList, 2000);
  }
}

function documentItem(doc, refreshList) {
  const badge = h("span", { className: `badge ${doc.status}`, text: doc.status[0].toUpperCase() + doc.status.slice(1) });
  const facts = h("span", { className: "muted", text:
    ` ${(doc.size_bytes / 1024).toFixed(1)} KB` + (doc.page_count ? ` · ${plural(doc.page_count, "page")}` : "") + (doc.status === "ready" ? ` · ${plural(doc.chunk_count, "chunk")}` : "") });
  const item = h("li", { className: "card" }, h("strong", { text: doc.filename }), " ", badge, facts);
  if (doc.status === "queued" || doc.status === "processing") {
    item.append(" ", h("progress", { max: "100", value: String(doc.progress), "aria-label": `Processing ${doc.filename}` }),
      doc.status === "processing" && doc.chunk_count ? h("span", { className: "muted", text:
        ` ${doc.chunks_embedded} of ${doc.chunk_count} chunks` + (doc.eta_seconds !== null ? ` · about ${doc.eta_seconds} s left` : "") }) : null);
  }
  if (doc.status === "failed") {
    item.append(h("p", { className: "error", text: doc.error || "Processing failed." }),
      h("button", { type: "button", text: "Retry", onclick: async () => {
        try { await api(`/documents/${doc.id}/reindex`, { method: "POST" }); refreshList(); } catch (error) { notify(error.message); }
      } }));
  }
  const chunks = h("div");
  item.append(h("div", { className: "actions" },
    doc.status === "ready" ? h("button", { type: "button", className: "link", text: "View chunks", onclick: async () => {
      const page = await api(`/documents/${doc.id}/chunks?limit=100`);
      chunks.replaceChildren(h("ol", { className: "chunks" }, page.items.map((c) =>
        h("li", {}, h("small", { className: "muted", text: `#${c.chunk_index}${c.page ? ` · page ${c.page}` : ""} · ${c.token_count} tokens` }), h("p", { text: c.text })))));
    } }) : null,
    h("button", { type: "button", className: "link danger", text: "Delete", onclick: () => confirmDialog(
      `Delete “${doc.filename}”? Its chunks and vectors go too.`, "Delete", async () => { await api(`/documents/${doc.id}`, { method: "DELETE" }); refreshList(); }) })),
  chunks);
  return item;
}

function confirmDialog(question, action, onConfirm) {
  const dialog = h("dialog", { "aria-label": "Confirm" });
  const cancel = h("button", { type: "button", text: "Cancel", onclick: () => dialog.close() });
  const ok = h("button", { type: "button", className: "danger", text: action, onclick: async () => {
    dialog.close();
    try { await onConfirm(); } catch (error) { notify(error.message); }
  } });
  dialog.append(h("p", { text: question }), h("div", { className: "actions" }, cancel, ok));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus();
}

// --- Try it, Embed -----------------------------------------------------------------------------
async function tryTab(bot, body) {
  const embed = await api(`/bots/${bot.id}/embed`);
  const path = new URL(embed.preview_url, location.href).pathname;
  body.replaceChildren(h("p", { className: "muted", text: "The real widget, as visitors see it. Conversations here are stored like any visitor's." }),
    h("iframe", { src: path, title: `Try ${bot.name}`, className: "preview" }));
}
async function embedTab(bot, body) {
  const embed = await api(`/bots/${bot.id}/embed`);
  const copy = h("button", { type: "button", text: "Copy snippet", onclick: async () => {
    try { await navigator.clipboard.writeText(embed.snippet); notify("Snippet copied."); } catch { notify("Select the snippet and copy it."); }
  } });
  body.replaceChildren(h("p", { text: "Paste this line into your site's HTML, before </body>:" }),
    h("pre", { className: "snippet" }, h("code", { text: embed.snippet })), copy,
    h("p", { className: embed.allowed_origins.length ? "muted" : "warning",
      text: embed.allowed_origins.length ? `The widget works on: ${embed.allowed_origins.join(", ")}.`
        : "No site is allowed yet: add your site's origin (e.g. https://shop.example.com) under Settings → Allowed origins." }));
}

// --- Conversations -----------------------------------------------------------------------------
async function conversationsTab(bot, body, rating = "") {
  const filter = h("select", { "aria-label": "Filter" }, h("option", { value: "", text: "All conversations" }),
    h("option", { value: "down", text: "With a thumbs-down" }));
  filter.value = rating;
  filter.addEventListener("change", () => conversationsTab(bot, body, filter.value));
  const page = await api(`/bots/${bot.id}/conversations?limit=100${rating ? "&rating=" + rating : ""}`);
  const transcript = h("div", { className: "transcript" });
  const items = page.items.map((c) => h("li", { className: "card" },
    h("button", { type: "button", className: "link", text: c.title || "(untitled)", onclick: () => showTranscript(c, transcript) }),
    h("p", { className: "muted", text: `${c.visitor_id ? "Visitor" + (c.origin ? " on " + c.origin : "") : "You"} · ${c.message_count} messages · ${when(c.last_message_at)}` })));
  body.replaceChildren(filter, items.length ? h("ul", { className: "cards" }, items) : h("p", { text: "No conversations yet." }), transcript);
}
async function showTranscript(conversation, container) {
  const page = await api(`/conversations/${conversation.id}/messages?limit=100`);
  container.replaceChildren(h("h2", { text: conversation.title || "Transcript" }), ...page.items.map((m) => h("div", { className: `message ${m.role}` },
    h("strong", { text: m.role === "user" ? "Question" : "Answer" }), h("p", { text: m.content }),
    m.sources.length ? h("ol", { className: "sources", "aria-label": "Sources" }, m.sources.map((s) =>
      h("li", {}, h("details", {}, h("summary", { text: `${s.document_name}${s.page ? ", page " + s.page : ""}` }), h("p", { text: s.text }))))) : null,
    m.feedback ? h("p", { className: m.feedback === "down" ? "warning" : "muted", text: `Rated thumbs-${m.feedback}` }) : null)));
  container.scrollIntoView({ behavior: "smooth" });
}

// --- Unanswered questions ----------------------------------------------------------------------
async function unansweredTab(bot, body, resolved = false) {
  const toggle = h("input", { type: "checkbox", id: "show-resolved", checked: resolved });
  toggle.addEventListener("change", () => unansweredTab(bot, body, toggle.checked));
  const page = await api(`/bots/${bot.id}/insights/unanswered?limit=50${resolved ? "&resolved=true" : ""}`);
  const reasons = { fallback: "got the fallback", no_sources: "nothing in the documents", thumbs_down: "thumbs-down" };
  const items = page.items.map((g) => {
    const answer = h("textarea", { rows: "2", required: true, maxlength: "8000" });
    const status = h("div");
    const form = g.status === "open" ? h("form", { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api(`/bots/${bot.id}/insights/unanswered/${g.id}/resolve`, { method: "POST", body: { answer: answer.value } });
        notify("Answer added; the bot uses it once the document is ready.");
        unansweredTab(bot, body, resolved);
      } catch (error) { status.replaceChildren(errorBox(error)); }
    } }, field("Add an answer", answer), status, h("button", { type: "submit", text: "Add an answer" })) : null;
    return h("li", { className: "card" }, h("h3", { text: g.question }),
      h("span", { className: `badge ${g.status}`, text: g.status[0].toUpperCase() + g.status.slice(1) }),
      h("p", { className: "muted", text: `Asked ${g.count} time${g.count === 1 ? "" : "s"} · last ${when(g.last_seen_at)} · ` +
        Object.entries(g.reasons).map(([k, n]) => `${n}× ${reasons[k] || k}`).join(", ") }),
      g.examples.length > 1 ? h("ul", { className: "examples" }, g.examples.map((x) => h("li", { text: x }))) : null, form);
  });
  body.replaceChildren(h("div", { className: "field inline" }, toggle, h("label", { for: "show-resolved", text: " Show resolved questions" })),
    h("p", { text: resolved ? `${page.total} resolved` : `${page.total} question${page.total === 1 ? "" : "s"} without a good answer, most asked first` }),
    items.length ? h("ul", { className: "cards" }, items) : h("p", { className: "muted", text: "Nothing here." }));
}

// --- Usage ---------------------------------------------------------------------------------------
async function usageTab(bot, body) {
  const usage = await api(`/bots/${bot.id}/insights/usage`);
  const width = 600, height = 160, bar = width / usage.days.length;
  const top = Math.max(1, ...usage.days.map((d) => d.messages));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height + 20}`, role: "img", "aria-label": `Questions per day, last 30 days: ${usage.total} in all` });
  usage.days.forEach((d, i) => {
    const barHeight = Math.round((d.messages / top) * height);
    const rect = svg("rect", { x: String(i * bar + 2), y: String(height - barHeight), width: String(bar - 4), height: String(barHeight), class: "bar" });
    const tip = svg("title");
    tip.textContent = `${d.date}: ${d.messages}`;
    rect.append(tip);
    chart.append(rect);
  });
  const first = svg("text", { x: "0", y: String(height + 16), class: "axis" });
  first.textContent = usage.days[0].date;
  const last = svg("text", { x: String(width), y: String(height + 16), class: "axis", "text-anchor": "end" });
  last.textContent = usage.days[usage.days.length - 1].date;
  chart.append(first, last);
  body.replaceChildren(h("p", { text: `${usage.total} question${usage.total === 1 ? "" : "s"} in the last 30 days · ${bot.messages_this_month} messages this month` }),
    h("figure", {}, chart), h("h2", { text: "Most cited sources" }),
    usage.top_sources.length ? h("ol", {}, usage.top_sources.map((s) => h("li", { text: `${s.document_name} (${s.citations})` }))) : h("p", { className: "muted", text: "No citations yet." }));
}

async function settingsTab(bot, body) {
  const danger = h("section", { className: "card danger-zone" }, h("h2", { text: "Danger zone" }),
    h("button", { type: "button", className: "danger", text: "Delete this bot", onclick: () => confirmDialog(
      `Delete “${bot.name}” with all its documents and conversations? This cannot be undone.`, "Delete bot",
      async () => { await api(`/bots/${bot.id}`, { method: "DELETE" }); notify("Bot deleted."); location.hash = "#/bots"; }) }));
  body.replaceChildren(botForm(bot, body), danger);
}

// --- API keys, billing, account --------------------------------------------------------------
async function keysView() {
  const [keys, bots] = await Promise.all([api("/api-keys?limit=100"), api("/bots?limit=100")]);
  const name = h("input", { required: true, maxlength: "100" });
  const scopes = ["read", "write", "chat"].map((s) => h("input", { type: "checkbox", value: s, checked: true, id: `scope-${s}` }));
  const botSelect = h("select", { multiple: true, size: String(Math.min(5, Math.max(2, bots.items.length))) },
    bots.items.map((b) => h("option", { value: b.id, text: b.name })));
  const created = h("div");
  const status = h("div");
  const form = h("form", { className: "card", onsubmit: async (e) => {
    e.preventDefault();
    const chosen = [...botSelect.selectedOptions].map((o) => o.value);
    try {
      const key = await api("/api-keys", { method: "POST", body: { name: name.value,
        scopes: scopes.filter((s) => s.checked).map((s) => s.value), bot_ids: chosen.length ? chosen : null } });
      created.replaceChildren(h("div", { className: "card warning" }, h("p", { text: "Copy it now: it is shown only this once." }),
        h("pre", { className: "snippet" }, h("code", { text: key.key })),
        h("button", { type: "button", text: "Copy key", onclick: async () => { try { await navigator.clipboard.writeText(key.key); notify("Key copied."); } catch { notify("Select the key and copy it."); } } })));
      name.value = ""; status.replaceChildren();
      renderList((await api("/api-keys?limit=100")).items);
    } catch (error) { status.replaceChildren(errorBox(error)); }
  } }, h("h2", { text: "New API key" }), field("Name", name),
  h("fieldset", {}, h("legend", { text: "Scopes" }), scopes.map((s) => h("span", { className: "inline" }, s, h("label", { for: s.id, text: ` ${s.value} ` })))),
  field("Bots (none selected: all)", botSelect), status, h("button", { type: "submit", text: "Create key" }));
  const list = h("ul", { className: "cards", "aria-label": "API keys" });
  const renderList = (items) => list.replaceChildren(...items.map((k) => h("li", { className: "card" },
    h("strong", { text: k.name }), h("code", { text: ` ${k.prefix}…` }),
    h("p", { className: "muted", text: `Scopes: ${k.scopes.join(", ")} · ${k.bot_ids ? k.bot_ids.length + " bot(s)" : "all bots"} · last used ${when(k.last_used_at)}` }),
    h("button", { type: "button", className: "danger", text: "Revoke", onclick: () => confirmDialog(`Revoke “${k.name}”? Programs using it stop working.`, "Revoke",
      async () => { await api(`/api-keys/${k.id}`, { method: "DELETE" }); renderList((await api("/api-keys?limit=100")).items); }) }))));
  renderList(keys.items);
  show(h("h1", { text: "API keys" }), created, form, list);
}

async function billingView() {
  const sub = await api("/billing/subscription");
  const rows = Object.entries(sub.usage || {}).map(([name, u]) => h("li", {}, h("span", { text: `${name.replace("_", " ")}: ${u.used}${u.limit === null ? " · no limit" : " of " + u.limit}` }),
    u.limit ? h("progress", { max: String(u.limit), value: String(Math.min(u.used, u.limit)), "aria-label": name }) : null));
  const actions = h("div", { className: "actions" });
  if (sub.billing_configured) {
    const plans = await api("/billing/plans");
    for (const plan of plans.items.filter((p) => p.purchasable && p.code !== sub.plan)) {
      actions.append(h("button", { type: "button", text: `Upgrade to ${plan.name}`, onclick: async () => {
        try { location.href = (await api("/billing/checkout", { method: "POST", body: { plan: plan.code } })).url; } catch (error) { notify(error.message); }
      } }));
    }
    if (sub.stripe_customer_id) actions.append(h("button", { type: "button", text: "Manage billing", onclick: async () => {
      try { location.href = (await api("/billing/portal", { method: "POST" })).url; } catch (error) { notify(error.message); }
    } }));
  }
  show(h("h1", { text: "Billing" }), h("div", { className: "card" }, h("p", { text: `Plan: ${sub.plan} · ${sub.status}` }),
    h("ul", { className: "usage" }, rows), sub.billing_configured ? actions :
      h("p", { className: "muted", text: "Billing is not configured on this server: every account is on the self-hosted plan." })));
}

async function accountView() {
  const me = await api("/users/me");
  const name = h("input", { required: true, maxlength: "100", value: me.full_name });
  const current = h("input", { type: "password", autocomplete: "current-password" });
  const next = h("input", { type: "password", minlength: "8", maxlength: "128", autocomplete: "new-password" });
  const status = h("div");
  const form = h("form", { className: "card", onsubmit: async (e) => {
    e.preventDefault();
    const body = { full_name: name.value };
    if (next.value) Object.assign(body, { password: next.value, current_password: current.value });
    try {
      await api("/users/me", { method: "PATCH", body });
      current.value = ""; next.value = ""; status.replaceChildren();
      notify(body.password ? "Password changed. Other sessions are signed out." : "Saved.");
      if (body.password) { accessToken = null; signedOut(); }
    } catch (error) { status.replaceChildren(errorBox(error)); }
  } }, h("p", { text: `Signed in as ${me.email}` }), field("Name", name),
  h("h2", { text: "Change password" }), field("Current password", current), field("New password", next, "8 to 128 characters."),
  status, h("button", { type: "submit", text: "Save" }));
  show(h("h1", { text: "Account" }), form);
}

route();
