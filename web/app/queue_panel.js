// The queue and history panel: the running prompt (interrupt), the pending ones
// (cancel), the finished ones (done / failed / interrupted) with their first image,
// delete, and "Open" to bring a past run's workflow back into a tab.
import { h, toast } from "./ui.js";

const HISTORY_ITEMS = 50;

export function historyState(entry) {
  const status = entry?.status ?? {};
  if (status.status_str === "success") return "done";
  const messages = status.messages ?? [];
  if (messages.some(([event]) => event === "execution_interrupted")) return "interrupted";
  return "failed";
}

function errorOf(entry) {
  const message = (entry?.status?.messages ?? []).find(([event]) => event === "execution_error");
  if (!message) return "";
  const data = message[1] ?? {};
  return `${data.node_type ?? "node"} #${data.node_id}: ${data.exception_message ?? ""}`;
}

function startedAt(entry) {
  const start = (entry?.status?.messages ?? []).find(([event]) => event === "execution_start");
  const timestamp = start?.[1]?.timestamp;
  return timestamp ? new Date(timestamp).toLocaleTimeString() : "";
}

function firstImage(entry) {
  for (const output of Object.values(entry?.outputs ?? {})) {
    const image = output?.images?.[0];
    if (image?.filename) return image;
  }
  return null;
}

export class QueuePanel {
  constructor({ api, onOpen }) {
    this.api = api;
    this.onOpen = onOpen;
    this.timer = null;
    this.running = h("ul", { class: "queue-list running-list", "aria-label": "Running" });
    this.pending = h("ul", { class: "queue-list pending-list", "aria-label": "Pending" });
    this.history = h("ul", { class: "queue-list history-list", "aria-label": "History" });
    const clearQueue = h("button", { class: "small", onclick: () => this.act(() => api.clearQueue()) }, "Clear queue");
    const clearHistory = h("button", { class: "small", onclick: () => this.act(() => api.post("/history", { clear: true })) },
      "Clear history");
    this.element = h("div", { class: "queue-panel" },
      h("h3", {}, "Running"), this.running,
      h("div", { class: "row" }, h("h3", {}, "Pending"), clearQueue), this.pending,
      h("div", { class: "row" }, h("h3", {}, "History"), clearHistory), this.history);
    this.visible = () => true;
  }

  async act(action) {
    try {
      await action();
    } catch (error) {
      toast(error.message, { kind: "error" });
    }
    this.refresh();
  }

  // Coalesce bursts of status events into one fetch.
  scheduleRefresh() {
    if (!this.visible()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 150);
  }

  async refresh() {
    let queue;
    let history;
    try {
      [queue, history] = await Promise.all([this.api.getQueue(), this.api.getHistory(HISTORY_ITEMS)]);
    } catch (error) {
      toast(`Could not read the queue: ${error.message}`, { kind: "error" });
      return;
    }
    this.running.replaceChildren(...(queue.queue_running ?? []).map((item) => this.queueItem(item, "running")));
    this.pending.replaceChildren(...(queue.queue_pending ?? []).map((item) => this.queueItem(item, "pending")));
    const entries = Object.entries(history ?? {}).reverse();
    this.history.replaceChildren(...entries.map(([id, entry]) => this.historyItem(id, entry)));
    for (const list of [this.running, this.pending, this.history]) {
      if (!list.children.length) list.append(h("li", { class: "empty" }, "None"));
    }
  }

  queueItem(item, state) {
    const [number, promptId, , extraData] = item;
    const action = state === "running"
      ? h("button", { class: "small danger", onclick: () => this.act(() => this.api.interrupt(promptId)) }, "Interrupt")
      : h("button", { class: "small", onclick: () => this.act(() => this.api.deleteQueueItems([promptId])) }, "Cancel");
    const open = this.openButton(extraData?.extra_pnginfo?.workflow, null, `#${number}`);
    return h("li", { class: `queue-item ${state}`, dataset: { promptId } },
      h("span", { class: "thumb none", "aria-hidden": "true" }),
      h("div", { class: "info" }, h("span", { class: "badge" }, state), h("span", { class: "label" }, `#${number}`)),
      h("div", { class: "actions" }, open, action));
  }

  historyItem(promptId, entry) {
    const state = historyState(entry);
    const [number, , prompt, extraData] = entry.prompt ?? [];
    const image = firstImage(entry);
    const thumb = image
      ? h("img", { class: "thumb", src: this.api.viewUrl(image), alt: image.filename, loading: "lazy" })
      : h("span", { class: "thumb none", "aria-hidden": "true" });
    const error = errorOf(entry);
    const remove = h("button", {
      class: "small", "aria-label": `Delete #${number} from history`,
      onclick: () => this.act(() => this.api.deleteHistoryItems([promptId])),
    }, "Delete");
    return h("li", { class: `queue-item history ${state}`, dataset: { promptId }, title: error || state },
      thumb,
      h("div", { class: "info" }, h("span", { class: "badge" }, state), h("span", { class: "label" }, `#${number}`),
        h("span", { class: "time" }, startedAt(entry)),
        error ? h("span", { class: "error-text" }, error) : null),
      h("div", { class: "actions" }, this.openButton(extraData?.extra_pnginfo?.workflow, prompt, `Run #${number}`), remove));
  }

  openButton(workflow, prompt, name) {
    if (!workflow && !prompt) return null;
    return h("button", {
      class: "small primary open-run", "aria-label": `Open the workflow of ${name}`,
      onclick: () => this.onOpen({ workflow, prompt, name }),
    }, "Open");
  }
}
