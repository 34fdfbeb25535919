// tmuxorch's web page: the fleet live over GET /api/events (EventSource), an
// agent's screen, its prompt with Approve/Deny, send, spawn, stop and kill.
// Everything an agent or a screen says goes in as text (textContent), never
// as markup. Requests carry the sign-in cookie; the browser adds this page's
// Origin to the ones that change something, as the server asks.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const ONLY = (location.pathname.match(/^\/agents\/([^/]+)$/) || [])[1];
const only = ONLY === undefined ? null : decodeURIComponent(ONLY);
const cards = new Map(); // name -> {el}: the agents shown
const reads = new Map(); // name -> "running", or "again" when an event came meanwhile

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function showError(text) {
  $("#error").textContent = text;
  $("#error").hidden = !text;
}

// One API call; a refusal throws the {"error"} line.
async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(`the server cannot be reached: ${exc.message}`, 0);
  }
  if (resp.status === 401) location.reload(); // signed out: the server shows the sign-in note
  const data = await resp.json().catch(() => ({ error: `${resp.status} ${resp.statusText}` }));
  if (!resp.ok) throw new ApiError(data.error || `${resp.status} ${resp.statusText}`, resp.status);
  return data;
}

// A person's action: its error, if any, is the page's error line.
async function act(fn) {
  showError("");
  try {
    return await fn();
  } catch (exc) {
    showError(exc instanceof ApiError ? exc.message : String(exc));
    return undefined;
  }
}

const path = (name, rest = "") => `/api/agents/${encodeURIComponent(name)}${rest}`;

function card(name) {
  let entry = cards.get(name);
  if (entry) return entry;
  const el = $("#agent-card").content.firstElementChild.cloneNode(true);
  el.dataset.name = name;
  const link = $(".name", el);
  link.textContent = name;
  link.href = `/agents/${encodeURIComponent(name)}`;
  $(".approve", el).onclick = () => act(() => api("POST", path(name, "/approve")).then(render));
  $(".deny", el).onclick = () => act(() => api("POST", path(name, "/deny")).then(render));
  $(".stop", el).onclick = () => act(() => api("POST", path(name, "/stop")).then(render));
  $(".kill", el).onclick = () => {
    if (confirm(`Kill ${name}?`)) act(() => api("DELETE", path(name)).then(render));
  };
  const form = $(".send", el);
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const body = { text: form.elements.text.value, mode: form.elements.mode.value };
    act(async () => {
      await api("POST", path(name, "/messages"), body);
      form.elements.text.value = "";
    });
  };
  const screen = $(".screen", el);
  screen.ontoggle = () => screen.open && loadScreen(name);
  if (only !== null) screen.open = true;
  entry = { el };
  cards.set(name, entry);
  $("#agents").append(el);
  return entry;
}

function render(agent) {
  const { el } = card(agent.name);
  el.dataset.state = agent.state;
  $(".state", el).textContent = agent.state;
  const since = new Date(agent.since);
  const today = since.toDateString() === new Date().toDateString();
  $(".since", el).textContent = `since ${today ? since.toLocaleTimeString() : since.toLocaleString()}`;
  $(".since", el).title = agent.since;
  $(".detail", el).textContent = agent.state === "waiting" ? "" : agent.detail;
  $(".cwd", el).textContent = agent.cwd;
  // The question a waiting agent asks is its detail: shown beside the answers.
  $(".prompt", el).hidden = agent.state !== "waiting";
  $(".prompt-text", el).textContent = agent.state === "waiting" ? agent.detail : "";
  $("#empty").hidden = cards.size > 0;
}

function drop(name) {
  const entry = cards.get(name);
  if (entry) entry.el.remove();
  cards.delete(name);
  $("#empty").hidden = cards.size > 0;
}

async function loadScreen(name) {
  const entry = cards.get(name);
  if (!entry) return;
  try {
    const out = await api("GET", path(name, "/output"));
    $(".screen-text", entry.el).textContent = out.text;
  } catch (exc) {
    $(".screen-text", entry.el).textContent = exc.message;
  }
}

// Read one agent again; events during a read fold into one more read after it.
async function refresh(name) {
  if (reads.has(name)) {
    reads.set(name, "again");
    return;
  }
  try {
    do {
      reads.set(name, "running");
      try {
        const agent = await api("GET", path(name));
        // A read older than an event that came meanwhile would show the past.
        if (reads.get(name) !== "again") render(agent);
      } catch (exc) {
        if (exc.status === 404) drop(name); // removed
        else showError(exc.message);
      }
      const entry = cards.get(name);
      if (entry && $(".screen", entry.el).open) await loadScreen(name);
    } while (reads.get(name) === "again");
  } finally {
    reads.delete(name);
  }
}

async function loadAll() {
  try {
    const agents = only === null ? await api("GET", "/api/agents") : [await api("GET", path(only))];
    const names = new Set(agents.map((a) => a.name));
    for (const name of [...cards.keys()]) if (!names.has(name)) drop(name);
    for (const agent of agents) render(agent);
    for (const { el } of cards.values()) if ($(".screen", el).open) loadScreen(el.dataset.name);
    $("#empty").hidden = cards.size > 0;
  } catch (exc) {
    showError(exc.message);
  }
}

function listen() {
  const url = only === null ? "/api/events" : `/api/events?agent=${encodeURIComponent(only)}`;
  const events = new EventSource(url); // reconnects with Last-Event-ID by itself
  events.onopen = async () => {
    await loadAll(); // what changed before the stream (re)started
    $("#live").textContent = "live";
    $("#live").dataset.live = "1";
  };
  events.onmessage = (msg) => {
    const event = JSON.parse(msg.data);
    const entry = event.agent && cards.get(event.agent);
    // The new state at once; the rest of the agent follows from the read.
    if (event.state && entry) {
      entry.el.dataset.state = event.state;
      $(".state", entry.el).textContent = event.state;
    }
    if (event.agent) refresh(event.agent);
    else loadAll();
  };
  events.onerror = (ev) => {
    $("#live").textContent = "reconnecting…";
    delete $("#live").dataset.live;
    // The stream's own "error" event (the server ended it) comes here too, with its line.
    if (ev.data) showError(JSON.parse(ev.data).error);
    // EventSource gives up on a refused stream (signed out, a server error):
    // try again later; a read first shows the sign-in note if signed out.
    if (events.readyState === EventSource.CLOSED) setTimeout(() => loadAll().then(listen), 5000);
  };
}

$("#spawn-form").onsubmit = (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const body = { name: form.elements.name.value.trim() };
  for (const key of ["agent", "cwd"]) {
    const value = form.elements[key].value.trim();
    if (value) body[key] = value;
  }
  if (form.elements.prompt.value) body.prompt = form.elements.prompt.value;
  act(async () => {
    render(await api("POST", "/api/agents", body));
    form.reset();
  });
};
if (only !== null) {
  document.title = `${only}: tmuxorch`;
  $("#spawn").hidden = true;
}
listen();
