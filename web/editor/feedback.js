/**
 * Execution feedback drawn on the canvas: the running node, progress bars,
 * live previews, executed outputs (images and text) and validation errors.
 */

/** "12" or "12:3" (a node inside a subgraph) -> the outer node's id as the graph knows it. */
export function outerId(nodeId) {
  const first = String(nodeId).split(":")[0];
  return /^\d+$/.test(first) ? Number(first) : first;
}

export class Feedback {
  constructor(canvas, api, redraw) {
    this.canvas = canvas;
    this.api = api;
    this.redraw = redraw;
    this.running = null;
    this.progress = new Map();
    this.images = new Map(); // id -> [HTMLImageElement]
    this.text = new Map();
    this.errors = new Map(); // id -> {messages, inputs:Set}
  }

  loadImages(id, urls) {
    const images = urls.map((url) => {
      const img = new Image();
      img.onload = () => this.redraw();
      img.src = url;
      return img;
    });
    this.images.set(outerId(id), images);
    this.redraw();
  }

  /** A new running node ends the previous one's progress bar; null ends the run. */
  setRunning(id) {
    const next = id == null ? null : outerId(id);
    if (next !== this.running) this.progress.clear();
    this.running = next;
    this.redraw();
  }

  /** Forget everything shown (another workflow is being loaded). */
  reset() {
    this.running = null;
    this.progress.clear();
    this.images.clear();
    this.text.clear();
    this.errors.clear();
    this.redraw();
  }
  setProgress(id, value, max) { this.progress.set(outerId(id), max ? value / max : 0); this.redraw(); }
  setPreview(id, url) { this.loadImages(id, [url]); }

  setNodeOutput(id, output = {}) {
    const view = this.api?.viewUrl;
    if (output.images?.length && view) this.loadImages(id, output.images.map((img) => view(img)));
    if (output.text) this.text.set(outerId(id), output.text.map(String));
    this.redraw();
  }

  setErrors(nodeErrors = {}) {
    this.errors.clear();
    for (const [id, entry] of Object.entries(nodeErrors)) {
      const messages = (entry.errors ?? []).map((e) => e.details ? `${e.message}: ${e.details}` : e.message);
      const inputs = new Set((entry.errors ?? []).map((e) => e.extra_info?.input_name).filter(Boolean));
      this.errors.set(outerId(id), { messages, inputs });
    }
    this.redraw();
  }

  clearErrors() { this.errors.clear(); this.redraw(); }

  /** Draw everything; `ctx` is in graph space (LGraphCanvas.onDrawForeground). */
  draw(ctx, graph, titleHeight) {
    const nodeOf = (id) => graph.getNodeById(id);
    const box = (node) => {
      const h = node.flags?.collapsed ? 0 : node.size[1];
      const w = node.flags?.collapsed ? (node._collapsed_width ?? 80) : node.size[0];
      return [node.pos[0], node.pos[1] - titleHeight, w, h + titleHeight];
    };
    ctx.save();
    for (const [id, err] of this.errors) {
      const node = nodeOf(id);
      if (!node) continue;
      const [x, y, w, h] = box(node);
      ctx.strokeStyle = "#ff3b3b";
      ctx.lineWidth = 4;
      ctx.strokeRect(x - 3, y - 3, w + 6, h + 6);
      ctx.fillStyle = "#ff6b6b";
      ctx.font = "13px sans-serif";
      err.messages.forEach((m, i) => ctx.fillText(m, x, y - 8 - 16 * (err.messages.length - 1 - i)));
      for (const [slot, input] of (node.inputs ?? []).entries()) {
        if (!err.inputs.has(input.name) || node.flags?.collapsed) continue;
        const [sx, sy] = node.getConnectionPos(true, slot);
        ctx.beginPath();
        ctx.arc(sx, sy, 7, 0, Math.PI * 2);
        ctx.stroke();
      }
    }
    if (this.running != null) {
      const node = nodeOf(this.running);
      if (node) {
        const [x, y, w, h] = box(node);
        ctx.strokeStyle = "#3f3";
        ctx.lineWidth = 3;
        ctx.strokeRect(x - 2, y - 2, w + 4, h + 4);
      }
    }
    for (const [id, frac] of this.progress) {
      const node = nodeOf(id);
      if (!node || !(frac > 0)) continue;
      const [x, y, w] = box(node);
      ctx.fillStyle = "#3c3";
      ctx.fillRect(x, y, w * Math.min(1, frac), 4);
    }
    for (const [id, images] of this.images) {
      const node = nodeOf(id);
      if (!node || node.flags?.collapsed) continue;
      const [x, y, w, h] = box(node);
      let top = y + h + 6;
      for (const img of images) {
        if (!img.complete || !img.naturalWidth) continue;
        const scale = Math.min(w / img.naturalWidth, 256 / img.naturalHeight);
        ctx.drawImage(img, x, top, img.naturalWidth * scale, img.naturalHeight * scale);
        top += img.naturalHeight * scale + 4;
      }
    }
    ctx.fillStyle = "#ddd";
    ctx.font = "12px monospace";
    for (const [id, lines] of this.text) {
      const node = nodeOf(id);
      if (!node) continue;
      const [x, y, , h] = box(node);
      lines.join("\n").split("\n").slice(0, 20).forEach((line, i) => ctx.fillText(line, x, y + h + 18 + 14 * i));
    }
    ctx.restore();
  }
}

/** Muted nodes (mode 2) draw faded, bypassed ones (mode 4) purple, as ComfyUI users know them. */
export function styleModes(canvas) {
  const drawNode = canvas.drawNode.bind(canvas);
  canvas.drawNode = (node, ctx) => {
    if (node.mode !== 2 && node.mode !== 4) return drawNode(node, ctx);
    const { editor_alpha: alpha } = canvas;
    const { color, bgcolor } = node;
    if (node.mode === 2) canvas.editor_alpha = 0.4;
    else { node.color = "#4a1d4a"; node.bgcolor = "#7a2f7a"; }
    try {
      drawNode(node, ctx);
    } finally {
      canvas.editor_alpha = alpha;
      node.color = color;
      node.bgcolor = bgcolor;
    }
  };
}
