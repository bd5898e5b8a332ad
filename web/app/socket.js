// The websocket: JSON events and binary preview frames, with reconnection.
// Every JSON message {type, data} is dispatched on the ApiClient as
// CustomEvent(type, {detail: data}); a preview frame is dispatched as
// "b_preview" with a Blob (ComfyUI's name). "reconnecting" / "reconnected" /
// "connected" tell the page about the connection.

const PREVIEW_IMAGE = 1;
const IMAGE_TYPES = { 1: "image/jpeg", 2: "image/png", 3: "image/webp" };

export function parsePreviewFrame(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 8 || view.getUint32(0) !== PREVIEW_IMAGE) return null;
  const mime = IMAGE_TYPES[view.getUint32(4)] ?? "image/jpeg";
  return new Blob([buffer.slice(8)], { type: mime });
}

export class Socket {
  constructor(api, { retryMs = 500, maxRetryMs = 5000 } = {}) {
    this.api = api;
    this.retryMs = retryMs;
    this.maxRetryMs = maxRetryMs;
    this.ws = null;
    this.closed = false;
    this.everConnected = false;
    this.attempts = 0;
    this.timer = null;
  }

  url() {
    const location = window.location;
    const protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const path = new URL(this.api.apiURL("/ws"), location.href).pathname;
    return `${protocol}//${location.host}${path}?clientId=${encodeURIComponent(this.api.clientId)}`;
  }

  connect() {
    this.closed = false;
    const ws = new WebSocket(this.url());
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempts = 0;
      const type = this.everConnected ? "reconnected" : "connected";
      this.everConnected = true;
      this.api.dispatchEvent(new CustomEvent(type));
    });
    ws.addEventListener("message", (event) => this.onMessage(event));
    ws.addEventListener("close", () => {
      if (this.ws !== ws || this.closed) return;
      this.api.dispatchEvent(new CustomEvent("reconnecting"));
      const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** this.attempts);
      this.attempts += 1;
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  onMessage(event) {
    if (event.data instanceof ArrayBuffer) {
      const blob = parsePreviewFrame(event.data);
      if (blob) this.api.dispatchEvent(new CustomEvent("b_preview", { detail: blob }));
      return;
    }
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    if (message.type === "status" && message.data?.sid) this.api.clientId = message.data.sid;
    this.api.dispatchEvent(new CustomEvent(message.type, { detail: message.data }));
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}
