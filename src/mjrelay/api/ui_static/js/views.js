// Rendering: task rows, the task view and the gallery. Views read tasks
// from the store and call back into the app for actions; they never talk to the API directly.

import { clear, h, timeAgo } from "./dom.js";
import { FINAL, percent } from "./tasks.js";

const STATUS_LABEL = {
  NOT_START: "Queued", SUBMITTED: "Submitted", MODAL: "Needs input", IN_PROGRESS: "Rendering",
  SUCCESS: "Done", FAILURE: "Failed", CANCEL: "Cancelled",
};

export function title(task) {
  if (task.action === "IMAGINE" || !task.description) return task.prompt || task.description || task.action;
  return task.description.replace(/^\/up \d+ /, "");
}

function promptText(task) {
  return (task.prompt || "").replace(/(^|\s)https?:\/\/\S+\/mj\/image\/\S+/g, "").trim();
}

export function progressBar(task) {
  const value = percent(task);
  const bar = h("div.progress", {
    role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": String(value), dataset: { status: task.status },
  }, h("div.progress-fill", { style: `width:${value}%` }));
  if (!FINAL.has(task.status)) bar.classList.add("running");
  return bar;
}

export function statusChip(task) {
  return h(`span.chip.status-${task.status.toLowerCase()}`, STATUS_LABEL[task.status] || task.status);
}

export function taskRow(task, selected, onSelect) {
  const thumb = task.imageUrl
    ? h("img.thumb", { src: task.imageUrl, alt: "", loading: "lazy" })
    : h("div.thumb.empty", task.action.slice(0, 1));
  return h("button.task-row", {
    type: "button", onclick: () => onSelect(task.id),
    "aria-current": selected ? "true" : null,
    dataset: { taskId: task.id, status: task.status },
  },
    thumb,
    h("div.task-row-body",
      h("div.task-row-title", h("span.action", task.action), " ", h("span.text", promptText(task) || title(task))),
      h("div.task-row-meta", statusChip(task), h("span.pct", task.status === "FAILURE" ? "" : percent(task) + "%"),
        h("span.when", timeAgo(task.submitTime))),
      progressBar(task)));
}

export function renderTaskList(container, tasks, selectedId, onSelect) {
  if (!tasks.length) {
    clear(container, h("p.empty-note", "No tasks yet. Describe an image above and press Imagine."));
    return;
  }
  clear(container, tasks.map((task) => taskRow(task, task.id === selectedId, onSelect)));
}

function buttonLabel(button) {
  return [button.emoji, button.label].filter(Boolean).join(" ") || button.customId;
}

export function renderTaskView(container, task, { onAction, onBack, onOpen }) {
  if (!task) {
    clear(container, h("div.placeholder",
      h("div.placeholder-art"),
      h("h2", "Your images appear here"),
      h("p", "Write a prompt, drop in reference images if you like, and press Imagine. " +
        "Progress streams in live; when the grid is done, pick U1–U4 to upscale or V1–V4 for variations.")));
    return;
  }
  const finished = FINAL.has(task.status);
  const image = task.imageUrl
    ? h("a.image-link", { href: task.imageUrl, target: "_blank", rel: "noopener" },
      h("img.task-image", { src: task.imageUrl, alt: promptText(task) || "result", dataset: { taskId: task.id } }))
    : h("div.task-image.pending", h("div.spinner"), h("span", STATUS_LABEL[task.status] || task.status));
  const buttons = task.status === "SUCCESS" && task.buttons && task.buttons.length
    ? h("div.buttons", task.buttons.map((button) =>
      h("button.mj-button", {
        type: "button", title: button.customId, dataset: { customId: button.customId },
        onclick: (event) => onAction(task, button, event.currentTarget),
      }, buttonLabel(button))))
    : null;
  const parent = (task.description || "").match(/^\/up (\d+) /);
  clear(container,
    h("div.task-view", { dataset: { taskId: task.id, status: task.status } },
      h("div.task-view-head",
        h("button.ghost.back", { type: "button", onclick: onBack }, "← Tasks"),
        h("span.action-badge", task.action), statusChip(task),
        h("span.mono.task-id", { title: "task id" }, task.id)),
      finished ? null : h("div.view-progress", progressBar(task), h("span.pct", `${percent(task)}%`)),
      h("div.stage", image),
      task.failReason ? h("p.fail", task.failReason) : null,
      buttons,
      h("div.meta",
        promptText(task) ? h("p.prompt", promptText(task)) : null,
        h("p.sub",
          task.submitTime ? `Submitted ${timeAgo(task.submitTime)}` : "",
          task.finishTime && task.startTime ? ` · ran ${((task.finishTime - task.startTime) / 1000).toFixed(1)}s` : "",
          task.mode ? ` · ${task.mode}` : "",
          parent ? h("span", " · from ", h("a", { href: `#/task/${parent[1]}`, onclick: (e) => { e.preventDefault(); onOpen(parent[1]); } }, parent[1])) : null),
        task.imageUrl && finished ? h("a.ghost.download", { href: task.imageUrl, download: `${task.id}.png` }, "Download") : null),
      h("details.raw", h("summary", "Raw JSON"), h("pre.mono", JSON.stringify(task, null, 2)))));
}

export function renderGallery(container, tasks, { onOpen, onMore, hasMore }) {
  const done = tasks.filter((task) => task.status === "SUCCESS" && task.imageUrl);
  clear(container,
    h("div.gallery-head", h("h2", "Gallery"), h("span.sub", `${done.length} image${done.length === 1 ? "" : "s"}`)),
    done.length
      ? h("div.gallery", done.map((task) =>
        h("button.tile", { type: "button", onclick: () => onOpen(task.id), dataset: { taskId: task.id } },
          h("img", { src: task.imageUrl, alt: promptText(task), loading: "lazy" }),
          h("div.tile-caption", h("span.action", task.action), " ", promptText(task)))))
      : h("p.empty-note", "Finished images will collect here."),
    hasMore ? h("button.ghost.more", { type: "button", onclick: onMore }, "Load more") : null);
}
