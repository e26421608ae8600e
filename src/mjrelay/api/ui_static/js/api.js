// The /mj API as the dashboard uses it: JSON calls with the key, and task streams read with
// fetch (EventSource cannot send an Authorization header, and keys never go in URLs).

const KEY_STORAGE = "mjrelay.apiKey";

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor(key) {
    this.key = key;
  }

  static saved() {
    const key = localStorage.getItem(KEY_STORAGE);
    return key ? new Api(key) : null;
  }

  remember() {
    localStorage.setItem(KEY_STORAGE, this.key);
  }

  static forget() {
    localStorage.removeItem(KEY_STORAGE);
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  async call(method, path, body) {
    return request(this.headers(), method, path, body);
  }

  // The key's balance (null = unlimited) and limits; its recent ledger entries, newest first.
  async account() {
    return (await this.call("GET", "/mj/account")).data.result;
  }

  async accountLedger(limit = 50) {
    return (await this.call("GET", `/mj/account/ledger?limit=${limit}`)).data.result;
  }

  async submit(path, body, mode = "") {
    const prefix = mode ? `/mj-${mode}` : "";
    const { data } = await this.call("POST", `${prefix}/mj/submit/${path}`, body);
    if (![1, 21, 22].includes(data.code)) throw new ApiError(data.description, 200, data.code);
    return data;
  }

  async list(limit = 60, before = null) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before) query.set("before", before);
    const { data, response } = await this.call("GET", `/mj/task/list?${query}`);
    return { tasks: data, next: response.headers.get("X-Next-Cursor") };
  }

  async fetchTask(id) {
    return (await this.call("GET", `/mj/task/${encodeURIComponent(id)}/fetch`)).data;
  }

  // Reads an SSE endpoint until it ends or `signal` aborts; calls onTask for each task event.
  async stream(path, onTask, signal) {
    const response = await fetch(path, {
      headers: this.headers({ Accept: "text/event-stream" }),
      signal,
    });
    if (!response.ok) throw new ApiError(`stream refused (${response.status})`, response.status);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = "message";
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "") {
          if (event === "task" && data.length) onTask(JSON.parse(data.join("\n")));
          event = "message";
          data = [];
        } else if (line.startsWith("event:")) {
          event = line.slice(6).trim();
        } else if (line.startsWith("data:")) {
          data.push(line.slice(5).replace(/^ /, ""));
        }
      }
    }
  }
}

// One JSON call with the given auth headers; a non-2xx answer becomes an ApiError carrying the
// envelope's description, so views show the relay's own words ("amount: must be positive").
async function request(headers, method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { ...headers, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const description = (data && data.description) || response.statusText;
    throw new ApiError(description, response.status, data && data.code);
  }
  return { data, response };
}

// The operator's /admin API with the admin token. The token lives in sessionStorage only: it
// is more powerful than any API key, so it goes away when the tab closes.
const ADMIN_STORAGE = "mjrelay.adminToken";

export class AdminApi {
  constructor(token) {
    this.token = token;
  }

  static saved() {
    const token = sessionStorage.getItem(ADMIN_STORAGE);
    return token ? new AdminApi(token) : null;
  }

  remember() {
    sessionStorage.setItem(ADMIN_STORAGE, this.token);
  }

  static forget() {
    sessionStorage.removeItem(ADMIN_STORAGE);
  }

  // The envelope's result; an answer whose code is not 1 is an error even with HTTP 200.
  async call(method, path, body) {
    const { data, response } = await request({ Authorization: `Bearer ${this.token}` }, method, path, body);
    if (!data || data.code !== 1) {
      throw new ApiError((data && data.description) || "unexpected answer", response.status, data && data.code);
    }
    return data;
  }

  async get(path) {
    return (await this.call("GET", path)).result;
  }

  async post(path, body) {
    return this.call("POST", path, body || {});
  }
}

// Reads a dropped or chosen file as the data URL the wire format's base64Array wants.
export function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
