/** Double-click a node's title to rename it in place (Enter or leaving the box keeps it, Escape cancels). */
import { LiteGraph } from "../vendor/litegraph.es.js";

export function installTitleEditor(root, canvas, onRenamed) {
  function edit(node) {
    const scale = canvas.ds.scale;
    const [x, y] = canvas.ds.convertOffsetToCanvas([node.pos[0], node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT]);
    const rect = canvas.canvas.getBoundingClientRect();
    const rootRect = root.getBoundingClientRect();
    const input = document.createElement("input");
    input.className = "loom-title-editor";
    input.value = node.title ?? "";
    input.setAttribute("aria-label", "Node title");
    Object.assign(input.style, {
      left: `${rect.left - rootRect.left + x}px`, top: `${rect.top - rootRect.top + y}px`,
      width: `${node.size[0] * scale}px`, height: `${LiteGraph.NODE_TITLE_HEIGHT * scale}px`, fontSize: `${14 * scale}px`,
    });
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      input.remove();
      if (keep && title && title !== node.title) {
        node.title = title;
        canvas.setDirty(true, true);
        onRenamed();
      }
      canvas.canvas.focus();
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.code === "Enter" || e.code === "NumpadEnter") finish(true);
      if (e.code === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
    root.appendChild(input);
    input.focus();
    input.select();
    setTimeout(() => { if (!done) { input.focus(); input.select(); } }, 0); // the canvas refocuses itself after the click
  }

  const onCanvasEvent = (e) => {
    const { subType, originalEvent, node } = e.detail ?? {};
    if (subType !== "node-double-click" || !node || !originalEvent) return;
    const [, y] = canvas.convertEventToCanvasOffset(originalEvent);
    if (y < node.pos[1]) edit(node);
  };
  canvas.canvas.addEventListener("litegraph:canvas", onCanvasEvent);
  return () => canvas.canvas.removeEventListener("litegraph:canvas", onCanvasEvent);
}
