// The websocket: JSON events and binary preview frames, with reconnection.
// Every JSON message {type, data} is dispatched on the ApiClient as
// CustomEvent(type, {detail: data}); a preview frame is dispatched as
// "b_preview" with a Blob and "b_preview_with_metadata" with {blob, nodeId, displayNodeId,
// promptId} (ComfyUI's names). The socket asks for previews with metadata on connect. "reconnecting" / "reconnected" /
// "connected" tell the page about the connection.

const PREVIEW_IMAGE = 1;
const PREVIEW_IMAGE_WITH_METADATA = 4;
const IMAGE_TYPES = { 1: "image/jpeg", 2: "image/png", 3: "image/webp" };

// -> {blob, metadata} for a preview frame, or null. Type 1: u32 image type, then the
// bytes; type 4: u32 metadata length, metadata JSON ({node_id, prompt_id, image_type}), bytes.
export function parsePreviewFrame(buffer) {
  if (buffer.byteLength < 8) return null;
  const view = new DataView(buffer);
  const event = view.getUint32(0);
  if (event === PREVIEW_IMAGE) {
    const mime = IMAGE_TYPES[view.getUint32(4)] ?? "image/jpeg";
    return { blob: new Blob([buffer.slice(8)], { type: mime }), metadata: null };
  }
  if (event === PREVIEW_IMAGE_WITH_METADATA) {
    const length = view.getUint32(4);
    if (8 + length > buffer.byteLength) return null;
    let metadata;
    try {
      metadata = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
    } catch {
      return null;
    }
    const mime = typeof metadata?.image_type === "string" ? metadata.image_type : "image/jpeg";
    return { blob: new Blob([buffer.slice(8 + length)], { type: mime }), metadata };
  }
  return null;
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
      ws.send(JSON.stringify({ type: "feature_flags", data: { supports_preview_metadata: true } }));
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
      const frame = parsePreviewFrame(event.data);
      if (!frame) return;
      if (frame.metadata) {
        const { node_id: nodeId, display_node_id: displayNodeId, prompt_id: promptId } = frame.metadata;
        this.api.dispatchEvent(new CustomEvent("b_preview_with_metadata", {
          detail: { blob: frame.blob, nodeId, displayNodeId: displayNodeId ?? nodeId, promptId },
        }));
      }
      this.api.dispatchEvent(new CustomEvent("b_preview", { detail: frame.blob }));
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
    if (message.type === "feature_flags") this.api.serverFeatures = message.data ?? {};
    this.api.dispatchEvent(new CustomEvent(message.type, { detail: message.data }));
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }
}
