// The dashboard: sign in with an API key, create, follow tasks live, browse the gallery.

import { loadAccount, renderAccount, renderBalance } from "./account.js";
import { forgetAdmin, renderAdminTab } from "./admin.js";
import { Api, ApiError } from "./api.js";
import { composer } from "./composer.js";
import { clear, h, toast } from "./dom.js";
import { askPrompt, askRegion } from "./modal.js";
import { FINAL, TaskStore } from "./tasks.js";
import { renderGallery, renderTaskList, renderTaskView } from "./views.js";

const root = document.getElementById("app");
const store = new TaskStore();
let api = Api.saved();
let streamAbort = null;
let selectedId = null;

// ---- sign in -----------------------------------------------------------------------------

function signInView(message) {
  const key = h("input.key-input", {
    type: "password", name: "key", autocomplete: "current-password", required: true,
    placeholder: "mjr_…", "aria-label": "API key",
  });
  const error = h("p.error", message || "");
  const button = h("button.primary", { type: "submit" }, "Sign in");
  const form = h("form.signin.card", {},
    h("div.brand.big", h("span.logo"), "mjrelay"),
    h("p.lede", "Make images with any Midjourney-compatible engine. Sign in with your API key."),
    h("label", "API key", key), error, button,
    h("p.hint", "The key stays in this browser (localStorage). Operators create keys with ",
      h("code", "mjrelay keys create"), "."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    const candidate = new Api(key.value.trim());
    try {
      await candidate.list(1);
      candidate.remember();
      api = candidate;
      start();
    } catch (exc) {
      error.textContent = exc instanceof ApiError && exc.status === 401
        ? "That key was not accepted." : `Could not sign in: ${exc.message}`;
    } finally {
      button.disabled = false;
    }
  });
  clear(root, h("main.signin-page", form));
  key.focus();
}

function signOut() {
  streamAbort?.abort();
  Api.forget();
  forgetAdmin();
  api = null;
  store.clear();
  location.hash = "";
  signInView();
}

// ---- shell -------------------------------------------------------------------------------

const shell = {};

function buildShell() {
  shell.list = h("div.task-list", { "aria-label": "Tasks" });
  shell.detail = h("section.detail");
  shell.wide = h("section.wide");
  shell.live = h("span.live", { title: "live updates" }, "offline");
  shell.balance = h("a.balance", { hidden: true, href: "#/account", "aria-label": "balance" });
  const tab = (href, label) => h("a.tab", { href, dataset: { route: href } }, label);
  shell.tabs = h("nav.tabs", tab("#/", "Create"), tab("#/gallery", "Gallery"),
    tab("#/account", "Account"), tab("#/admin", "Admin"));
  shell.side = h("aside.side", composer(imagine), h("div.list-head", h("h3", "Tasks"), shell.live), shell.list);
  clear(root,
    h("header.top",
      h("a.brand", { href: "#/" }, h("span.logo"), "mjrelay"),
      shell.tabs,
      h("div.top-right", shell.balance,
        h("button.ghost.signout", { type: "button", onclick: signOut }, "Sign out"))),
    h("main.layout", shell.side, shell.detail, shell.wide));
}

function route() {
  const hash = location.hash || "#/";
  const match = hash.match(/^#\/task\/(\d+)/);
  const wide = ["gallery", "account", "admin"].find((view) => hash.startsWith(`#/${view}`));
  const name = match ? "task" : wide || "home";
  const changed = document.body.dataset.route !== name;
  document.body.dataset.route = name;
  for (const link of shell.tabs.children) {
    const active = link.dataset.route === (name === "task" ? "#/" : hash);
    link.classList.toggle("active", active || (name === "home" && link.dataset.route === "#/"));
  }
  if (match) {
    selectedId = match[1];
    if (!store.get(selectedId)) api.fetchTask(selectedId).then((task) => store.put(task)).catch(() => toast("Task not found", "error"));
  }
  render(changed);
}

// `entered`: the route just changed. The account and admin views load their data then, not on
// every task update.
function render(entered = false) {
  if (!api || !shell.list) return;
  const name = document.body.dataset.route;
  renderTaskList(shell.list, store.ordered(), selectedId, openTask);
  if (name === "gallery") {
    renderGallery(shell.wide, store.ordered(), { onOpen: openTask, onMore: loadMore, hasMore: Boolean(store.next) });
  } else if (name === "account") {
    if (entered) showAccountView();
  } else if (name === "admin") {
    if (entered) renderAdminTab(shell.wide);
  } else {
    renderTaskView(shell.detail, selectedId ? store.get(selectedId) : store.ordered()[0],
      { onAction: pressButton, onBack: () => { location.hash = "#/"; selectedId = null; }, onOpen: openTask });
  }
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function openTask(id) {
  location.hash = `#/task/${id}`;
}

// ---- actions -----------------------------------------------------------------------------

function reportError(exc) {
  toast(exc instanceof ApiError ? exc.message : `Something went wrong: ${exc.message}`, "error");
  if (exc instanceof ApiError && exc.status === 401) signOut();
}

async function follow(taskId) {
  try { store.put(await api.fetchTask(taskId)); } catch { /* the stream brings it */ }
  openTask(taskId);
}

async function imagine({ prompt, base64Array, mode }) {
  try {
    const body = { prompt };
    if (base64Array.length) body.base64Array = base64Array;
    const answer = await api.submit("imagine", body, mode);
    if (answer.code === 22) toast(answer.description);
    showAccount();
    await follow(answer.result);
    return true;
  } catch (exc) {
    reportError(exc);
    return false;
  }
}

async function pressButton(task, button, element) {
  element.disabled = true;
  try {
    const answer = await api.submit("action", { taskId: task.id, customId: button.customId });
    showAccount();
    if (answer.code === 21) {
      const filled = await fillModal(task, button, answer.result);
      if (!filled) { toast("Cancelled: the action waits for its input"); await follow(answer.result); return; }
    }
    await follow(answer.result);
  } catch (exc) {
    reportError(exc);
  } finally {
    element.disabled = false;
  }
}

async function fillModal(task, button, newId) {
  const id = button.customId;
  let body = null;
  if (id.startsWith("MJ::Inpaint")) {
    const region = await askRegion({ imageUrl: task.imageUrl, initial: task.prompt });
    if (region) body = { taskId: newId, prompt: region.prompt, maskBase64: region.mask };
  } else {
    const zoom = id.startsWith("MJ::CustomZoom");
    const text = await askPrompt({
      title: button.label || "Remix",
      hint: zoom ? "Edit the prompt; --zoom takes a value from 1 to 2." : "Edit the prompt.",
      initial: zoom && !/--zoom/.test(task.prompt) ? `${task.prompt} --zoom 1.5` : task.prompt,
    });
    if (text) body = { taskId: newId, prompt: text };
  }
  if (!body) return false;
  await api.submit("modal", body);
  showAccount();
  return true;
}

async function loadMore() {
  try {
    const page = await api.list(60, store.next);
    store.next = page.next;
    for (const task of page.tasks) store.put(task);
    scheduleRender();
  } catch (exc) {
    reportError(exc);
  }
}

// ---- live updates ------------------------------------------------------------------------

async function streamForever() {
  streamAbort?.abort();
  const controller = new AbortController();
  streamAbort = controller;
  let delay = 500;
  while (!controller.signal.aborted) {
    try {
      const opened = api.stream("/mj/task/stream", (task) => store.put(task), controller.signal);
      opened.catch(() => {}); // awaited below; this only keeps the console quiet meanwhile
      shell.live.textContent = "live";
      shell.live.classList.add("on");
      // Catch up with whatever changed while disconnected, now that changes are flowing.
      const page = await api.list(60);
      if (store.next === null) store.next = page.next;
      for (const task of page.tasks) store.put(task);
      scheduleRender();
      delay = 500;
      await opened;
    } catch (exc) {
      if (controller.signal.aborted) return;
      if (exc instanceof ApiError && exc.status === 401) { signOut(); return; }
    }
    shell.live.textContent = "reconnecting";
    shell.live.classList.remove("on");
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

// ---- balance -------------------------------------------------------------------------------

async function showAccount() {
  if (!api) return;
  const account = await loadAccount(api);
  renderBalance(shell.balance, account);
  return account;
}

async function showAccountView() {
  const [account, entries] = await Promise.all([
    showAccount(), api.accountLedger(50).catch(() => []),
  ]);
  if (document.body.dataset.route === "account") renderAccount(shell.wide, account, entries, { onOpen: openTask });
}

// A task that finishes may settle or refund its charge: refresh the badge (once per burst).
const finishedSeen = new Set();
let balanceTimer = null;
function balanceAfterFinish(task) {
  if (!FINAL.has(task.status) || finishedSeen.has(task.id)) return;
  finishedSeen.add(task.id);
  clearTimeout(balanceTimer);
  balanceTimer = setTimeout(() => {
    if (document.body.dataset.route === "account") showAccountView();
    else showAccount();
  }, 250);
}

function start() {
  buildShell();
  window.onhashchange = route;
  route();
  streamForever();
  showAccount();
}

store.subscribe((task) => { scheduleRender(); balanceAfterFinish(task); });
if (api) start();
else signInView();
