// The HTTP client: every route Loom (and ComfyUI) offers that the editor uses.
// An ApiClient is also an EventTarget: the websocket (socket.js) dispatches each
// server event on it as a CustomEvent whose `detail` is the event's data, which is
// what ComfyUI extensions expect from `api.addEventListener("executed", ...)`.

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function errorMessage(status, body, text) {
  const error = body?.error;
  if (error && typeof error === "object") return error.message || error.type || `HTTP ${status}`;
  if (typeof error === "string") return error;
  return text || `HTTP ${status}`;
}

export class ApiClient extends EventTarget {
  constructor({ base = "", clientId = null } = {}) {
    super();
    this.base = base;
    this.clientId = clientId;
    this.serverFeatures = {};
  }

  apiURL(route) {
    return this.base + route;
  }

  fileURL(route) {
    return this.base + route;
  }

  fetchApi(route, options = {}) {
    return fetch(this.apiURL(route), { cache: "no-store", ...options });
  }

  async json(route, options = {}) {
    const response = await this.fetchApi(route, options);
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) throw new ApiError(errorMessage(response.status, body, text), response.status, body);
    return body;
  }

  post(route, data) {
    return this.json(route, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data ?? {}),
    });
  }

  getObjectInfo() { return this.json("/object_info"); }
  getDefaultWorkflow() { return this.json("/default_workflow"); }
  getExtensions() { return this.json("/extensions"); }
  getSettings() { return this.json("/settings"); }
  storeSetting(id, value) { return this.post(`/settings/${encodeURIComponent(id)}`, value); }

  // Queue a workflow. `workflow` is the UI form; the server converts it.
  // `previewMethod`: "auto" asks for live previews while sampling, "none" for none;
  // null leaves it to the server's --preview-method.
  queuePrompt(workflow, { front = false, previewMethod = null } = {}) {
    const body = {
      client_id: this.clientId,
      prompt: workflow,
      extra_data: { extra_pnginfo: { workflow } },
    };
    if (previewMethod) body.extra_data.preview_method = previewMethod;
    if (front) body.front = true;
    return this.post("/prompt", body);
  }

  getQueue() { return this.json("/queue"); }
  deleteQueueItems(ids) { return this.post("/queue", { delete: ids }); }
  clearQueue() { return this.post("/queue", { clear: true }); }
  // Without an id: whatever runs; with one: only that prompt, if it is the one running.
  interrupt(promptId = null) { return this.post("/interrupt", promptId ? { prompt_id: promptId } : {}); }
  getHistory(maxItems = 64) { return this.json(`/history?max_items=${maxItems}`); }
  getHistoryItem(id) { return this.json(`/history/${encodeURIComponent(id)}`); }
  deleteHistoryItems(ids) { return this.post("/history", { delete: ids }); }

  toApiFormat(workflow) { return this.post("/workflow/api", { workflow }); }
  toUiFormat(prompt) { return this.post("/workflow/ui", { prompt }); }

  // User data: `path` is relative to the user's folder, e.g. "workflows/a.json".
  async listWorkflows() {
    try {
      return await this.json("/userdata?dir=workflows&recurse=true&full_info=true");
    } catch (error) {
      if (error.status === 404) return [];
      throw error;
    }
  }

  userdataURL(path) {
    return `/userdata/${encodeURIComponent(path)}`;
  }

  getUserData(path) { return this.json(this.userdataURL(path)); }

  async putUserData(path, data, { overwrite = true } = {}) {
    const body = typeof data === "string" ? data : JSON.stringify(data, null, 2);
    return this.json(`${this.userdataURL(path)}?overwrite=${overwrite}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
  }

  deleteUserData(path) { return this.json(this.userdataURL(path), { method: "DELETE" }); }

  // One atomic rename on the server (409 when `to` exists).
  moveUserData(from, to) {
    return this.json(`${this.userdataURL(from)}/move/${encodeURIComponent(to)}?overwrite=false`, { method: "POST" });
  }

  async uploadImage(file, { subfolder = "", type = "input" } = {}) {
    const form = new FormData();
    form.append("image", file, file.name);
    form.append("type", type);
    if (subfolder) form.append("subfolder", subfolder);
    return this.json("/upload/image", { method: "POST", body: form });
  }

  viewUrl({ filename, subfolder = "", type = "output" }) {
    const query = new URLSearchParams({ filename, subfolder, type });
    return this.apiURL(`/view?${query}`);
  }
}
