/**
 * Keyboard shortcuts by `event.code` (the physical key), so they work on any
 * keyboard layout, and the help panel that lists them. Queue shortcuts
 * (Ctrl+Enter) and Escape-interrupt belong to the app shell and are not bound.
 */

export const BINDINGS = [
  { code: "KeyZ", ctrl: true, action: "undo", label: "Undo" },
  { code: "KeyZ", ctrl: true, shift: true, action: "redo", label: "Redo" },
  { code: "KeyY", ctrl: true, action: "redo", label: "Redo" },
  { code: "KeyC", ctrl: true, action: "copy", label: "Copy selected nodes" },
  { code: "KeyV", ctrl: true, action: "paste", label: "Paste" },
  { code: "KeyV", ctrl: true, shift: true, action: "pasteWithLinks", label: "Paste keeping input links" },
  { code: "KeyD", ctrl: true, action: "duplicate", label: "Duplicate selected nodes" },
  { code: "Delete", action: "delete", label: "Delete selected" },
  { code: "Backspace", action: "delete", label: "Delete selected" },
  { code: "KeyA", ctrl: true, action: "selectAll", label: "Select all" },
  { code: "KeyM", ctrl: true, action: "mute", label: "Mute / unmute selected (never run)" },
  { code: "KeyB", ctrl: true, action: "bypass", label: "Bypass / un-bypass selected" },
  { code: "KeyC", alt: true, action: "collapse", label: "Collapse / expand selected" },
  { code: "KeyP", action: "pin", label: "Pin / unpin selected" },
  { code: "KeyG", ctrl: true, action: "group", label: "Group selected nodes" },
  { code: "Period", action: "fitView", label: "Fit the view to the graph" },
  { code: "Slash", action: "search", label: "Search and add a node (as double-click)" },
  { code: "Slash", shift: true, action: "help", label: "Show this help" },
  { code: "F1", action: "help", label: "Show this help" },
];

/** Extra gestures shown in the help panel (handled by the canvas, not by keys). */
export const GESTURES = [
  ["Space + drag / drag empty canvas", "Pan"],
  ["Wheel", "Zoom at the cursor"],
  ["Ctrl + drag", "Box select"],
  ["Double-click empty canvas", "Search and add a node"],
  ["Drag a link to empty canvas", "Search nodes that fit the link"],
  ["Drop a node on a link", "Insert it into the link"],
  ["Alt + drag a node", "Clone it"],
  ["Right-click", "Menu: add node by category, node options"],
  ["Double-click a title", "Rename the node"],
];

/** Is this event aimed at something that edits text (its own Ctrl+Z etc.)? */
export function isTextTarget(target) {
  if (!target) return false;
  const tag = target.localName;
  return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable === true;
}

/** The action bound to a keydown event, or null. Modifiers must match exactly. */
export function actionFor(event) {
  const ctrl = event.ctrlKey || event.metaKey;
  for (const b of BINDINGS) {
    if (b.code !== event.code) continue;
    if (Boolean(b.ctrl) !== ctrl || Boolean(b.shift) !== event.shiftKey || Boolean(b.alt) !== event.altKey) continue;
    return b.action;
  }
  return null;
}

function keyLabel(b) {
  const key = { Period: ".", Slash: b.shift ? "?" : "/", KeyZ: "Z", Delete: "Delete", Backspace: "Backspace" }[b.code]
    ?? b.code.replace(/^Key/, "");
  return [b.ctrl && "Ctrl", b.alt && "Alt", b.shift && b.code !== "Slash" && "Shift", key].filter(Boolean).join(" + ");
}

/** Toggle the help panel inside `root`. */
export function toggleHelp(root) {
  const open = root.querySelector(".loom-help");
  if (open) { open.remove(); return; }
  const panel = document.createElement("div");
  panel.className = "loom-help";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", "Keyboard shortcuts");
  panel.tabIndex = -1;
  const rows = [...BINDINGS.map((b) => [keyLabel(b), b.label]), ...GESTURES];
  const title = document.createElement("h2");
  title.textContent = "Keyboard shortcuts";
  const table = document.createElement("table");
  for (const [k, label] of rows) {
    const tr = table.insertRow();
    const kbd = document.createElement("kbd");
    kbd.textContent = k;
    tr.insertCell().appendChild(kbd);
    tr.insertCell().textContent = label;
  }
  const close = document.createElement("button");
  close.textContent = "Close";
  close.onclick = () => panel.remove();
  panel.addEventListener("keydown", (e) => { if (e.code === "Escape") { e.stopPropagation(); panel.remove(); } });
  panel.append(title, table, close);
  root.appendChild(panel);
  close.focus();
}
