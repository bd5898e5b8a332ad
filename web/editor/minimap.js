/** A small overview of the whole graph with the visible area; click or drag to move the view. */

export class Minimap {
  constructor(root, canvas) {
    this.canvas = canvas;
    this.el = document.createElement("canvas");
    this.el.className = "loom-minimap";
    this.el.width = 200;
    this.el.height = 140;
    this.el.setAttribute("aria-label", "Minimap");
    this.el.hidden = true;
    root.appendChild(this.el);
    this.key = "";
    this.timer = null;
    const move = (e) => {
      if (!this.bounds) return;
      const r = this.el.getBoundingClientRect();
      const [bx, by, s] = this.bounds;
      const gx = bx + (e.clientX - r.left) / s;
      const gy = by + (e.clientY - r.top) / s;
      const ds = this.canvas.ds;
      const [w, h] = [this.canvas.canvas.clientWidth / ds.scale, this.canvas.canvas.clientHeight / ds.scale];
      ds.offset[0] = -gx + w / 2;
      ds.offset[1] = -gy + h / 2;
      this.canvas.setDirty(true, true);
    };
    this.el.addEventListener("pointerdown", (e) => { this.el.setPointerCapture(e.pointerId); move(e); });
    this.el.addEventListener("pointermove", (e) => { if (e.buttons) move(e); });
  }

  show(on) {
    this.el.hidden = !on;
    clearInterval(this.timer);
    if (on) { this.timer = setInterval(() => this.draw(), 250); this.draw(); }
  }

  /** Redraws only when the graph or the view changed since the last time. */
  draw() {
    const graph = this.canvas.graph;
    const ds = this.canvas.ds;
    const key = `${graph?._version}|${ds.offset[0]}|${ds.offset[1]}|${ds.scale}|${graph?._nodes.length}`;
    if (!graph || key === this.key) return;
    this.key = key;
    const c = this.el.getContext("2d");
    c.clearRect(0, 0, this.el.width, this.el.height);
    const nodes = graph._nodes;
    const vis = this.canvas.visible_area;
    let [x0, y0, x1, y1] = [vis[0], vis[1], vis[0] + vis[2], vis[1] + vis[3]];
    for (const n of nodes) {
      x0 = Math.min(x0, n.pos[0]); y0 = Math.min(y0, n.pos[1] - 30);
      x1 = Math.max(x1, n.pos[0] + n.size[0]); y1 = Math.max(y1, n.pos[1] + n.size[1]);
    }
    const s = Math.min(this.el.width / (x1 - x0 || 1), this.el.height / (y1 - y0 || 1));
    this.bounds = [x0, y0, s];
    c.fillStyle = "rgba(20,20,20,0.85)";
    c.fillRect(0, 0, this.el.width, this.el.height);
    for (const n of nodes) {
      c.fillStyle = n.mode === 2 ? "#555" : n.mode === 4 ? "#a3a" : (n.bgcolor ?? "#8a8f98");
      c.fillRect((n.pos[0] - x0) * s, (n.pos[1] - 30 - y0) * s, Math.max(2, n.size[0] * s), Math.max(2, (n.size[1] + 30) * s));
    }
    c.strokeStyle = "#fff";
    c.strokeRect((vis[0] - x0) * s, (vis[1] - y0) * s, vis[2] * s, vis[3] * s);
  }

  destroy() { clearInterval(this.timer); this.el.remove(); }
}
