// The operator's views, behind the admin token (MJRELAY_ADMIN_TOKEN): keys with balances and
// status (create, top up, revoke), usage, the audit log, and channel health when the relay has
// channels. Everything goes through the /admin API; the token stays in sessionStorage.

import { money } from "./account.js";
import { AdminApi, ApiError } from "./api.js";
import { clear, h, timeAgo, toast } from "./dom.js";

let admin = AdminApi.saved();

// Draws the admin tab into `container`: the token form, or the panel once signed in.
export function renderAdminTab(container) {
  if (admin) showPanel(container);
  else tokenForm(container);
}

function tokenForm(container, message) {
  const token = h("input.key-input", {
    type: "password", name: "adminToken", autocomplete: "off", required: true,
    placeholder: "admin token", "aria-label": "Admin token",
  });
  const error = h("p.error", message || "");
  const button = h("button.primary", { type: "submit" }, "Open admin");
  const form = h("form.admin-signin.card", {},
    h("h2", "Operator"),
    h("p.hint", "Enter the relay's admin token (MJRELAY_ADMIN_TOKEN). It is kept for this tab only " +
      "(sessionStorage) and sent only to this relay's /admin API."),
    h("label", "Admin token", token), error, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    const candidate = new AdminApi(token.value.trim());
    try {
      await candidate.get("/admin/keys");
      candidate.remember();
      admin = candidate;
      showPanel(container);
    } catch (exc) {
      error.textContent = refusal(exc);
    } finally {
      button.disabled = false;
    }
  });
  clear(container, h("div.admin-page", form));
  token.focus();
}

function refusal(exc) {
  if (exc instanceof ApiError && exc.status === 401) return "That admin token was not accepted.";
  if (exc instanceof ApiError && exc.status === 404) {
    return "The admin API is off on this relay (start it with MJRELAY_ADMIN_TOKEN set).";
  }
  return `Could not open the admin views: ${exc.message}`;
}

// Signing out of the dashboard leaves admin too: the token must not outlive the session.
export function forgetAdmin() {
  AdminApi.forget();
  admin = null;
}

function signOutAdmin(container) {
  forgetAdmin();
  tokenForm(container);
}

// Runs an admin call; a 401 (token changed on the server) returns to the token form.
async function guarded(container, work) {
  try {
    return await work();
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) {
      forgetAdmin();
      tokenForm(container, "The admin token is no longer accepted.");
    } else {
      toast(exc instanceof ApiError ? exc.message : `Something went wrong: ${exc.message}`, "error");
    }
    return undefined;
  }
}

async function showPanel(container) {
  const sections = {
    keys: h("section.admin-section.keys-section"),
    usage: h("section.admin-section.usage-section"),
    channels: h("section.admin-section.channels-section"),
    audit: h("section.admin-section.audit-section"),
  };
  const refresh = () => load(container, sections);
  clear(container, h("div.admin-page",
    h("div.section-head", h("h2", "Operator"),
      h("div.head-actions",
        h("button.ghost.refresh", { type: "button", onclick: refresh }, "Refresh"),
        h("button.ghost.admin-signout", { type: "button", onclick: () => signOutAdmin(container) }, "Leave admin"))),
    createKeyForm(container, refresh),
    sections.keys, sections.channels, sections.usage, sections.audit));
  await refresh();
}

async function load(container, sections) {
  const results = await guarded(container, () => Promise.all([
    admin.get("/admin/keys"), admin.get("/admin/usage"), admin.get("/admin/audit?limit=20"),
  ]));
  if (!results) return;
  const [keys, usage, audit] = results;
  renderKeys(sections.keys, keys, container, () => load(container, sections));
  renderUsage(sections.usage, usage, keys);
  renderAudit(sections.audit, audit);
  renderChannels(sections.channels, await channels());
}

// null: the relay has no channels endpoint (404); otherwise the list it returns.
async function channels() {
  try {
    const result = await admin.get("/admin/channels");
    return Array.isArray(result) ? result : (result && (result.channels || result.items)) || [];
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 404) return null;
    return { error: exc.message };
  }
}

const table = (headings, rows, cls = "") =>
  h("div.table-wrap", h(`table.data${cls}`,
    h("thead", h("tr", headings.map((t) => h("th", t)))),
    h("tbody", rows)));

// ---- keys ----------------------------------------------------------------------------------

function createKeyForm(container, refresh) {
  const name = h("input.field", { name: "keyName", placeholder: "name", required: true, maxlength: 200 });
  const tenant = h("input.field", { name: "keyTenant", placeholder: "tenant (optional)", maxlength: 200 });
  const balance = h("input.field", { name: "keyBalance", placeholder: "balance (empty = unlimited)", inputmode: "decimal" });
  const shown = h("div.shown-once", { hidden: true });
  const button = h("button.primary", { type: "submit" }, "Create key");
  const form = h("form.create-key.card", {},
    h("h3", "New key"), h("div.field-row", name, tenant, balance, button), shown);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    const body = { name: name.value.trim() };
    if (tenant.value.trim()) body.tenant = tenant.value.trim();
    if (balance.value.trim()) body.balance = balance.value.trim();
    const answer = await guarded(container, () => admin.post("/admin/keys", body));
    button.disabled = false;
    if (!answer) return;
    const key = answer.result.key;
    const copy = h("button.ghost", {
      type: "button",
      onclick: async () => {
        try { await navigator.clipboard.writeText(key); toast("Copied"); } catch { toast("Select the key and copy it", "error"); }
      },
    }, "Copy");
    shown.hidden = false;
    clear(shown,
      h("p", `Key #${answer.result.id} for ${answer.result.tenant} created. It is shown only this once:`),
      h("div.key-line", h("code.new-key", key), copy));
    name.value = ""; tenant.value = ""; balance.value = "";
    await refresh();
  });
  return form;
}

function renderKeys(section, keys, container, refresh) {
  const rows = keys.map((key) => {
    const revoked = Boolean(key.revokedMs);
    const amount = h("input.field.amount", { name: "topupAmount", placeholder: "amount", inputmode: "decimal", "aria-label": `top up key ${key.id}` });
    const topUp = h("button.ghost.topup", {
      type: "button", title: "Add to the balance",
      onclick: async () => {
        if (!amount.value.trim()) { amount.focus(); return; }
        const answer = await guarded(container, () => admin.post(`/admin/keys/${key.id}/topup`, { amount: amount.value.trim(), note: "dashboard" }));
        if (answer) { toast(`Key #${key.id}: balance ${money(answer.result.balance)}`); await refresh(); }
      },
    }, "Top up");
    // Two steps, so one stray click never cuts a customer off.
    const revoke = h("button.ghost.danger.revoke", {
      type: "button", disabled: revoked,
      onclick: async (event) => {
        const button = event.currentTarget;
        if (!button.classList.contains("confirm")) {
          button.classList.add("confirm");
          button.textContent = "Confirm revoke";
          setTimeout(() => { button.classList.remove("confirm"); button.textContent = "Revoke"; }, 5000);
          return;
        }
        const answer = await guarded(container, () => admin.post(`/admin/keys/${key.id}/revoke`));
        if (answer) { toast(`Key #${key.id} revoked`); await refresh(); }
      },
    }, "Revoke");
    return h("tr", { dataset: { keyId: String(key.id), status: revoked ? "revoked" : "active" } },
      h("td.mono", `#${key.id}`),
      h("td", key.name, h("div.sub", key.tenant), h("div.sub.mono", `${key.prefix}…`)),
      h("td.num.key-balance", money(key.balance)),
      h("td", h(`span.chip.${revoked ? "status-failure" : "status-success"}`, revoked ? "revoked" : "active"),
        h("div.sub", limits(key))),
      h("td", revoked ? null : h("div.actions", key.balance === null ? null : h("div.inline", amount, topUp), revoke)));
  });
  clear(section, h("h3.section-title", `Keys (${keys.length})`),
    keys.length ? table(["Key", "Name", "Balance", "Status", ""], rows, ".keys") : h("p.empty-note", "No keys yet."));
}

function limits(key) {
  const parts = [];
  if (key.ratePerSecond) parts.push(`${key.ratePerSecond}/s`);
  if (key.maxInFlight) parts.push(`≤${key.maxInFlight} in flight`);
  return parts.join(" · ");
}

// ---- usage, audit, channels ----------------------------------------------------------------

function renderUsage(section, usage, keys) {
  const names = new Map(keys.map((key) => [key.id, key.name]));
  clear(section, h("h3.section-title", "Usage"),
    usage.length
      ? table(["Key", "Tasks", "Charged", "Refunded", "Held"], usage.map((row) =>
        h("tr", { dataset: { keyId: String(row.keyId) } },
          h("td", `#${row.keyId} `, h("span.sub", names.get(row.keyId) || "")),
          h("td.num", String(row.tasks)), h("td.num", money(row.charged)),
          h("td.num", money(row.refunded)), h("td.num", money(row.held)))), ".usage")
      : h("p.empty-note", "No charged tasks yet."));
}

function renderAudit(section, audit) {
  clear(section, h("h3.section-title", "Audit log"),
    audit.length
      ? table(["When", "Who", "What", "Target", "Details"], audit.map((entry) =>
        h("tr", { dataset: { action: entry.action } },
          h("td", { title: new Date(entry.atMs).toLocaleString() }, timeAgo(entry.atMs)),
          h("td", entry.actor), h("td.mono", entry.action), h("td.mono", entry.target),
          h("td.mono.details", JSON.stringify(entry.details)))), ".audit")
      : h("p.empty-note", "Nothing changed yet."));
}

const yesNo = (value) => (value === undefined || value === null ? "" : value ? "yes" : "no");

// mjrelay's /admin/channels gives {breaker, consecutiveFailures}; other relays a plain word.
function describeHealth(health) {
  if (health && typeof health === "object") {
    const failures = health.consecutiveFailures ? ` (${health.consecutiveFailures} failures)` : "";
    return `${health.breaker ?? JSON.stringify(health)}${failures}`;
  }
  return String(health);
}

function renderChannels(section, list) {
  const title = h("h3.section-title", "Channels");
  if (list === null) {
    clear(section, title, h("p.empty-note.channels-missing",
      "Channels: not available on this relay (it has no /admin/channels endpoint)."));
    return;
  }
  if (list.error) {
    clear(section, title, h("p.error", `Channels could not be read: ${list.error}`));
    return;
  }
  clear(section, title, list.length
    ? table(["Name", "Engine", "Enabled", "Paused", "Health", "In flight", "Last error"], list.map((c) => {
      const health = describeHealth(c.health ?? c.breaker ?? c.breakerState ?? c.state ?? "");
      return h("tr", { dataset: { channel: String(c.name ?? c.id ?? "") } },
        h("td", String(c.name ?? c.id ?? "")), h("td", String(c.engine ?? "")),
        h("td", yesNo(c.enabled)), h("td", yesNo(c.paused)),
        h("td", h("span.chip.health", health)),
        h("td.num", String(c.inFlight ?? c.in_flight ?? "")),
        h("td.details", String(c.lastError ?? c.last_error ?? "")));
    }), ".channels")
    : h("p.empty-note", "No channels configured."));
}
