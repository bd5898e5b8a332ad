/** Link helpers: insert a node dropped on a link, and connect a new node to a dragged link. */
import { isCompatible } from "./types.js";

/** The link under graph point (x, y) among the links drawn last frame, or null. */
export function linkAt(canvas, x, y) {
  const ctx = canvas.ctx;
  const dpi = window.devicePixelRatio || 1;
  const { scale, offset } = canvas.ds;
  const px = (x + offset[0]) * scale * dpi;
  const py = (y + offset[1]) * scale * dpi;
  ctx.save();
  // paths are in graph space: test them under the view transform, the point in device pixels
  ctx.setTransform(scale * dpi, 0, 0, scale * dpi, offset[0] * scale * dpi, offset[1] * scale * dpi);
  ctx.lineWidth = canvas.connections_width + 10;
  let found = null;
  for (const seg of canvas.renderedPaths) {
    if (seg.origin_id == null || !seg.path) continue;
    if (ctx.isPointInStroke(seg.path, px, py)) { found = seg; break; }
  }
  ctx.restore();
  return found;
}

/**
 * If `node` has no links and lies on a link whose types fit, splice it in:
 * origin -> node's first fitting input, node's first fitting output -> target.
 */
export function insertOnLink(canvas, node) {
  const graph = canvas.graph;
  if (!node || !graph || node.inputs?.some((i) => i.link != null) || node.outputs?.some((o) => o.links?.length)) return false;
  const link = linkAt(canvas, node.pos[0] + node.size[0] / 2, node.pos[1] - 15)
    ?? linkAt(canvas, node.pos[0] + node.size[0] / 2, node.pos[1] + node.size[1] / 2);
  if (!link || link.origin_id === node.id || link.target_id === node.id) return false;
  const origin = graph.getNodeById(link.origin_id);
  const target = graph.getNodeById(link.target_id);
  if (!origin || !target) return false;
  const inType = target.inputs[link.target_slot]?.type;
  const inSlot = (node.inputs ?? []).findIndex((i) => !i.widget && isCompatible(link.type, i.type));
  const outSlot = (node.outputs ?? []).findIndex((o) => isCompatible(o.type, inType));
  if (inSlot < 0 || outSlot < 0) return false;
  origin.connect(link.origin_slot, node, inSlot);
  node.connect(outSlot, target, link.target_slot);
  return true;
}

/** Connect a freshly added node to the link that was dropped on empty canvas. */
export function connectToDragged(newNode, drag) {
  if (!drag) return;
  if (drag.fromOutput) {
    const slot = (newNode.inputs ?? []).findIndex((i) => i.link == null && isCompatible(drag.slot.type, i.type));
    if (slot >= 0) drag.node.connect(drag.slotIndex, newNode, slot);
  } else {
    const slot = (newNode.outputs ?? []).findIndex((o) => isCompatible(o.type, drag.slot.type));
    if (slot >= 0) newNode.connect(slot, drag.node, drag.slotIndex);
  }
}
