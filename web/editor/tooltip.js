/** Hover tooltips from the schema: node descriptions, input/output tooltips, widget tooltips. */

export function installTooltips(root, canvas) {
  const tip = document.createElement("div");
  tip.className = "loom-tooltip";
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  root.appendChild(tip);
  let timer = null;
  const textAt = () => {
    const [x, y] = canvas.graph_mouse;
    const node = canvas.graph?.getNodeOnPos(x, y);
    if (!node) return null;
    if (y < node.pos[1]) return node.description ?? node.constructor.description ?? null;
    const slot = node.getSlotOnPos?.([x, y]);
    if (slot?.tooltip) return slot.tooltip;
    const widget = node.getWidgetOnPos?.(x, y, true);
    return widget?.tooltip ?? null;
  };
  const onMove = (e) => {
    tip.hidden = true;
    clearTimeout(timer);
    if (e.buttons) return;
    timer = setTimeout(() => {
      const text = textAt();
      if (!text) return;
      const r = root.getBoundingClientRect();
      tip.textContent = text;
      tip.style.left = `${e.clientX - r.left + 14}px`;
      tip.style.top = `${e.clientY - r.top + 14}px`;
      tip.hidden = false;
    }, 500);
  };
  const hide = () => { clearTimeout(timer); tip.hidden = true; };
  canvas.canvas.addEventListener("pointermove", onMove);
  canvas.canvas.addEventListener("pointerleave", hide);
  return () => {
    hide();
    canvas.canvas.removeEventListener("pointermove", onMove);
    canvas.canvas.removeEventListener("pointerleave", hide);
    tip.remove();
  };
}
