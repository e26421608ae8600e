// Balance and usage of the signed-in key: the header badge and the Account view. Both read the
// public /mj/account endpoints with the key, so they show exactly what the relay will charge.

import { clear, h, timeAgo } from "./dom.js";

// {keyId, balance (string, or null = unlimited), ratePerSecond, maxInFlight}; null when the relay
// has no account endpoint (another /mj relay), which hides the badge instead of guessing.
export async function loadAccount(api) {
  try {
    return await api.account();
  } catch {
    return null;
  }
}

// "12.5000" -> "12.50": money with at least two decimals and no trailing noise.
export function money(value) {
  if (value === null || value === undefined) return "unlimited";
  const [whole, fraction = ""] = String(value).split(".");
  const trimmed = fraction.replace(/0+$/, "");
  return `${whole}.${trimmed.padEnd(2, "0")}`;
}

export function renderBalance(badge, account) {
  badge.hidden = !account;
  if (!account) return;
  const unlimited = account.balance === null;
  badge.dataset.balance = unlimited ? "unlimited" : account.balance;
  badge.classList.toggle("low", !unlimited && Number(account.balance) <= 0);
  badge.title = unlimited ? "This key has no balance limit" : "Balance of this key";
  clear(badge, unlimited ? "∞ unlimited" : money(account.balance));
}

const KIND_LABEL = {
  topup: "Top-up", reserve: "Reserved", settle: "Charge confirmed", refund: "Refunded",
  charge: "Charged", adjust: "Balance set",
};

export function renderAccount(container, account, entries, { onOpen }) {
  if (!account) {
    clear(container, h("div.placeholder", h("h2", "Account"),
      h("p", "This relay does not report balances for keys.")));
    return;
  }
  const fact = (label, value) => h("div.fact", h("span.fact-label", label), h("span.fact-value", value));
  clear(container,
    h("div.section-head", h("h2", "Account"), h("span.sub", `key #${account.keyId}`)),
    h("div.facts",
      fact("Balance", money(account.balance)),
      fact("Rate limit", account.ratePerSecond ? `${account.ratePerSecond}/s` : "relay default"),
      fact("Jobs in flight", account.maxInFlight ? `at most ${account.maxInFlight}` : "relay default")),
    h("h3.section-title", "Recent usage"),
    entries.length
      ? h("div.table-wrap", h("table.data.ledger",
        h("thead", h("tr", ["When", "What", "Amount", "Balance after", "Task"].map((t) => h("th", t)))),
        h("tbody", entries.map((entry) => h("tr", { dataset: { kind: entry.kind } },
          h("td", { title: new Date(entry.createdMs).toLocaleString() }, timeAgo(entry.createdMs)),
          h("td", KIND_LABEL[entry.kind] || entry.kind, entry.action ? h("span.sub", ` ${entry.action}`) : null,
            entry.note ? h("span.sub", ` · ${entry.note}`) : null),
          h("td.num", signed(entry)),
          h("td.num", money(entry.balanceAfter)),
          h("td", entry.taskId
            ? h("a.mono", { href: `#/task/${entry.taskId}`, onclick: (e) => { e.preventDefault(); onOpen(entry.taskId); } }, entry.taskId)
            : ""))))))
      : h("p.empty-note", "No balance movements yet."));
}

function signed(entry) {
  // A settle only confirms the reserved amount: no money moves, so no amount is shown.
  if (entry.amount === null || entry.amount === undefined || Number(entry.amount) === 0) return "";
  const value = money(entry.amount);
  return value.startsWith("-") ? value : `+${value}`;
}
