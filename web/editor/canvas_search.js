/** Wires the search dialog to the canvas: double-click on empty canvas, links dropped on empty canvas. */
import { openSearch } from "./search_dialog.js";
import { connectToDragged } from "./links.js";
import { LiteGraph } from "../vendor/litegraph.es.js";

export function installSearch(root, canvas, editor, defs) {
  /** Open the search at a pointer event; `drag` describes a dropped link. */
  function open(event, drag = null) {
    const rect = canvas.canvas.getBoundingClientRect();
    const clientX = event?.clientX ?? rect.left + rect.width / 2;
    const clientY = event?.clientY ?? rect.top + rect.height / 2;
    const pos = canvas.convertEventToCanvasOffset({ clientX, clientY });
    const filter = drag ? (drag.fromOutput ? { input: drag.slot.type } : { output: drag.slot.type }) : {};
    return openSearch(root, {
      x: clientX, y: clientY, defs, filter,
      title: drag ? `Nodes that fit ${drag.slot.type}…` : "",
      onPick(def) {
        const node = LiteGraph.createNode(def.name);
        if (!node) return;
        node.pos = [pos[0], pos[1]];
        canvas.graph.add(node);
        connectToDragged(node, drag);
        canvas.selectItems([node]);
        canvas.setDirty(true, true);
        editor.checkpoint();
        canvas.canvas.focus();
      },
    });
  }

  const onCanvasEvent = (e) => {
    const { subType, originalEvent } = e.detail ?? {};
    if (subType === "empty-double-click") open(originalEvent);
    if (subType === "empty-release") {
      const first = canvas.linkConnector.renderLinks[0];
      if (!first) return;
      const fromOutput = canvas.linkConnector.state.connectingTo === "input";
      open(originalEvent, { node: first.node, slot: first.fromSlot, slotIndex: first.fromSlotIndex, fromOutput });
    }
  };
  canvas.canvas.addEventListener("litegraph:canvas", onCanvasEvent);
  return { open, destroy: () => canvas.canvas.removeEventListener("litegraph:canvas", onCanvasEvent) };
}
