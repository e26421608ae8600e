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
    const response = await fetch(path, {
      method,
      headers: this.headers(body ? { "Content-Type": "application/json" } : {}),
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

// Reads a dropped or chosen file as the data URL the wire format's base64Array wants.
export function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
