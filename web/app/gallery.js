// The output gallery: every image and text a node produced in this session, newest
// first; a click opens the image full size.
import { h, showDialog } from "./ui.js";

const MAX_ITEMS = 200;

export class Gallery {
  // onOpenWorkflow(file): open the workflow an output image carries.
  constructor({ api, onOpenWorkflow = null }) {
    this.api = api;
    this.onOpenWorkflow = onOpenWorkflow;
    this.items = [];
    this.historyLoaded = false;
    this.list = h("ul", { class: "gallery-list", "aria-live": "polite" });
    this.empty = h("p", { class: "empty" }, "Images and text your workflows produce appear here.");
    this.element = h("div", { class: "gallery" }, this.empty, this.list);
  }

  add(output, { promptId = null, nodeId = null } = {}) {
    for (const image of output.images ?? []) {
      if (!image?.filename) continue;
      this.items.unshift({ kind: "image", image, promptId, nodeId });
    }
    for (const text of output.text ?? []) {
      this.items.unshift({ kind: "text", text: String(text), promptId, nodeId });
    }
    this.items.length = Math.min(this.items.length, MAX_ITEMS);
    this.render();
  }

  // On first opening: the outputs of recent runs (before this page was loaded) below this session's.
  async loadHistory(maxItems = 30) {
    if (this.historyLoaded) return;
    this.historyLoaded = true;
    let history;
    try {
      history = await this.api.getHistory(maxItems);
    } catch {
      return;
    }
    const seen = new Set(this.items.map((item) => item.promptId));
    const older = [];
    for (const [promptId, entry] of Object.entries(history ?? {}).reverse()) {
      if (seen.has(promptId)) continue;
      for (const [nodeId, output] of Object.entries(entry.outputs ?? {})) {
        for (const image of output?.images ?? []) {
          if (image?.filename) older.push({ kind: "image", image, promptId, nodeId });
        }
        for (const text of output?.text ?? []) older.push({ kind: "text", text: String(text), promptId, nodeId });
      }
    }
    this.items = [...this.items, ...older].slice(0, MAX_ITEMS);
    this.render();
  }

  render() {
    this.empty.hidden = this.items.length > 0;
    this.list.replaceChildren(...this.items.map((item) => this.renderItem(item)));
  }

  renderItem(item) {
    const caption = item.nodeId !== null ? `node #${item.nodeId}` : "";
    if (item.kind === "text") {
      return h("li", { class: "gallery-item text" }, h("pre", {}, item.text), h("small", {}, caption));
    }
    const url = this.api.viewUrl(item.image);
    const image = h("img", { src: url, alt: `${item.image.filename} (${caption})`, loading: "lazy" });
    const button = h("button", {
      class: "thumb", title: item.image.filename, onclick: () => this.view(item.image, url),
    }, image);
    return h("li", { class: "gallery-item image", dataset: { filename: item.image.filename } }, button);
  }

  view(image, url) {
    const body = h("figure", { class: "lightbox" },
      h("img", { src: url, alt: image.filename }),
      h("figcaption", {}, h("a", { href: url, download: image.filename }, `Download ${image.filename}`)));
    const buttons = [{ label: "Close", value: null, primary: true }];
    if (this.onOpenWorkflow) buttons.unshift({ label: "Open its workflow", value: "open" });
    return showDialog({ title: image.filename, body, id: "image-dialog", buttons }).then(async (choice) => {
      if (choice !== "open") return;
      const blob = await (await fetch(url)).blob();
      await this.onOpenWorkflow(new File([blob], image.filename, { type: blob.type }));
    });
  }
}
