// Live execution feedback: websocket events mapped onto the editor (running node,
// progress, previews, outputs, errors) and onto the page (status line, gallery).
// Events of a prompt queued from another tab are not drawn on the current graph.
import { toast } from "./ui.js";
import { showNode } from "./problems.js";

export class Execution {
  constructor({ api, editor, tabs, gallery, settings, statusElement, progressElement = null, onQueueChange = () => {} }) {
    this.progressElement = progressElement;
    this.api = api;
    this.editor = editor;
    this.tabs = tabs;
    this.gallery = gallery;
    this.settings = settings;
    this.statusElement = statusElement;
    this.onQueueChange = onQueueChange;
    this.promptTabs = new Map();
    this.runningPrompt = null;
    this.runningNode = null;
    this.previewUrl = null;
    this.queueRemaining = 0;
    this.connected = false;
  }

  // Remember which tab queued a prompt so its events land on that graph only.
  track(promptId, tabId) {
    this.promptTabs.set(promptId, tabId);
  }

  onGraph(data) {
    const tabId = this.promptTabs.get(data?.prompt_id);
    return tabId === undefined || tabId === this.tabs.active;
  }

  listen() {
    const on = (type, handler) => this.api.addEventListener(type, (event) => handler(event.detail ?? {}));
    on("connected", () => this.setConnection(true));
    on("reconnected", () => {
      this.setConnection(true);
      this.onQueueChange();
    });
    on("reconnecting", () => this.setConnection(false));
    on("status", (data) => {
      this.queueRemaining = data?.status?.exec_info?.queue_remaining ?? 0;
      this.renderStatus();
      this.onQueueChange();
    });
    on("execution_start", (data) => {
      this.runningPrompt = data.prompt_id;
      if (this.onGraph(data)) this.editor.clearErrors();
      this.onQueueChange();
    });
    on("executing", (data) => {
      this.runningNode = data.node ?? null;
      if (this.onGraph(data)) this.editor.setRunning(this.runningNode);
      if (data.node === null || data.node === undefined) this.finish(data.prompt_id);
    });
    on("progress", (data) => {
      this.showProgress(data.max ? data.value / data.max : 0);
      if (this.onGraph(data)) this.editor.setProgress(data.node ?? this.runningNode, data.value, data.max);
    });
    // Previews with metadata name their node; plain ones go to the running node.
    on("b_preview_with_metadata", (detail) => this.preview(detail.blob, detail.displayNodeId, detail.promptId));
    on("b_preview", (blob) => {
      if (!this.api.serverFeatures?.supports_preview_metadata) this.preview(blob, this.runningNode, this.runningPrompt);
    });
    on("executed", (data) => {
      if (this.onGraph(data)) this.editor.setNodeOutput(data.display_node ?? data.node, data.output ?? {});
      this.gallery.add(data.output ?? {}, { promptId: data.prompt_id, nodeId: data.node });
    });
    on("execution_error", (data) => this.failed(data));
    on("execution_interrupted", (data) => {
      if (this.onGraph(data)) this.editor.setRunning(null);
      toast("Execution interrupted", { kind: "warning" });
    });
  }

  preview(blob, nodeId, promptId) {
    if (!(blob instanceof Blob) || nodeId === null || nodeId === undefined) return;
    if (this.settings?.get("Loom.Preview") === false) return;
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.previewUrl = URL.createObjectURL(blob);
    if (this.onGraph({ prompt_id: promptId })) this.editor.setPreview(nodeId, this.previewUrl);
  }

  failed(data) {
    const nodeId = data.node_id;
    const message = data.exception_message ?? "the node failed";
    if (this.onGraph(data) && nodeId !== undefined && nodeId !== null) {
      this.editor.setErrors({
        [nodeId]: {
          errors: [{ type: data.exception_type ?? "execution_error", message, details: "", extra_info: {} }],
          dependent_outputs: [],
          class_type: data.node_type,
        },
      });
    }
    const where = data.node_type ? `${data.node_type} (#${nodeId})` : `node #${nodeId}`;
    const action = this.onGraph(data) && nodeId != null ? { label: `Show #${nodeId}`, run: () => showNode(this.editor, nodeId) } : null;
    toast(`${where} failed: ${message}`, { kind: "error", timeout: 12000, action });
  }

  showProgress(fraction) {
    const percent = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
    if (this.progressElement) {
      this.progressElement.style.width = `${percent}%`;
      this.progressElement.setAttribute("aria-valuenow", String(percent));
    }
    const title = this.tabs.pageTitle();
    document.title = percent > 0 && percent < 100 ? `[${percent}%] ${title}` : title;
  }

  finish(promptId) {
    this.showProgress(0);
    this.runningNode = null;
    this.runningPrompt = null;
    if (this.onGraph({ prompt_id: promptId })) this.editor.setRunning(null);
    this.onQueueChange();
  }

  setConnection(connected) {
    this.connected = connected;
    this.renderStatus();
  }

  renderStatus() {
    if (!this.statusElement) return;
    this.statusElement.dataset.connected = String(this.connected);
    this.statusElement.textContent = this.connected
      ? `Queue: ${this.queueRemaining}`
      : "Reconnecting…";
    const badge = document.getElementById("queue-panel-button");
    if (badge) badge.dataset.count = this.queueRemaining > 0 ? String(this.queueRemaining) : "";
  }
}
