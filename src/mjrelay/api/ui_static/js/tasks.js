// The dashboard's copy of the caller's tasks, kept current by the tenant stream. A change is
// applied only if it is not older than what is shown (streams and list loads may overlap).

const RANK = { NOT_START: 0, MODAL: 1, SUBMITTED: 2, IN_PROGRESS: 3, SUCCESS: 4, FAILURE: 4, CANCEL: 4 };

export const FINAL = new Set(["SUCCESS", "FAILURE", "CANCEL"]);

export function percent(task) {
  if (task.status === "SUCCESS") return 100;
  const value = parseInt(String(task.progress || "0").replace("%", ""), 10);
  return Number.isFinite(value) ? Math.max(0, Math.min(100, value)) : 0;
}

function newer(candidate, current) {
  if (!current) return true;
  const a = RANK[candidate.status] ?? 0;
  const b = RANK[current.status] ?? 0;
  if (a !== b) return a > b;
  if (percent(candidate) !== percent(current)) return percent(candidate) > percent(current);
  return true;
}

export class TaskStore {
  constructor() {
    this.tasks = new Map();
    this.listeners = new Set();
    this.next = null;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  put(task) {
    if (!task || !task.id || !newer(task, this.tasks.get(task.id))) return false;
    this.tasks.set(task.id, task);
    for (const listener of this.listeners) listener(task);
    return true;
  }

  get(id) {
    return this.tasks.get(id);
  }

  // Newest first: ids are epoch-ms based, so they sort by submit time.
  ordered() {
    return [...this.tasks.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  clear() {
    this.tasks.clear();
    this.next = null;
  }
}
