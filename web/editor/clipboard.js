/**
 * Copy/paste through LGraphCanvas's localStorage clipboard, so a copy in one
 * tab or workflow pastes in another of the same origin.
 */
const KEY = "litegrapheditor_clipboard";

export function copySelection(canvas) {
  if (!canvas.selectedItems.size) return false;
  canvas.copyToClipboard();
  return true;
}

/** Paste at the mouse (or at `position` in graph space); `withLinks` keeps links from outside nodes. */
export function paste(canvas, { withLinks = false, position } = {}) {
  if (!localStorage.getItem(KEY)) return false;
  canvas.pasteFromClipboard({ connectInputs: withLinks, ...(position ? { position } : {}) });
  return true;
}

/** Duplicate the selection next to itself, leaving the clipboard as it was. */
export function duplicate(canvas) {
  const items = [...canvas.selectedItems];
  if (!items.length) return false;
  const saved = localStorage.getItem(KEY);
  const left = Math.min(...items.map((n) => n.pos?.[0] ?? Infinity));
  const top = Math.min(...items.map((n) => n.pos?.[1] ?? Infinity));
  canvas.copyToClipboard(items);
  paste(canvas, { position: [left + 30, top + 30] });
  if (saved === null) localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, saved);
  return true;
}
