/** Keyboard commands on the canvas: maps keys.js actions to editor operations. */
import { actionFor, isTextTarget, toggleHelp } from "./keys.js";
import { duplicate } from "./clipboard.js";
import { LGraphGroup } from "../vendor/litegraph.es.js";

export function installKeys(root, canvas, editor, search) {
  const selectedNodes = () => Object.values(canvas.selected_nodes ?? {});
  const run = {
    undo: () => editor.undo(),
    redo: () => editor.redo(),
    copy: () => editor.copy(),
    paste: () => editor.paste({ withLinks: false }),
    pasteWithLinks: () => editor.paste({ withLinks: true }),
    duplicate: () => { duplicate(canvas); editor.checkpoint(); },
    delete: () => { canvas.deleteSelected(); editor.checkpoint(); },
    selectAll: () => canvas.selectItems(),
    mute: () => editor.setMode(selectedNodes(), 2),
    bypass: () => editor.setMode(selectedNodes(), 4),
    collapse: () => { for (const n of selectedNodes()) n.collapse(); editor.checkpoint(); },
    pin: () => { for (const n of selectedNodes()) n.pin(); editor.checkpoint(); },
    group: () => {
      const nodes = selectedNodes();
      if (!nodes.length) return;
      const group = new LGraphGroup("Group");
      group.resizeTo(nodes);
      canvas.graph.add(group);
      editor.checkpoint();
    },
    fitView: () => editor.fitView(),
    help: () => toggleHelp(root),
    search: () => search.open(null),
  };

  /**
   * Keys aimed at the canvas, at nothing in particular, or at a button or link that kept the
   * focus after a click (a toolbar) are ours; text fields and dialogs keep theirs.
   */
  const inEditor = (t) => t === document.body || root.contains(t);
  const ours = (e) => {
    const t = e.target;
    if (e.defaultPrevented || isTextTarget(t)) return false;
    return inEditor(t) || ((t.localName === "button" || t.localName === "a") && !t.closest("dialog, [role=dialog]"));
  };

  const onKeyDown = (e) => {
    if (!ours(e)) return;
    if (e.code === "Space" && !e.repeat) {
      canvas.read_only = true; // LiteGraph pans while read_only and the pointer is down
      canvas._previously_dragging_canvas ??= canvas.dragging_canvas;
      canvas.dragging_canvas = canvas.pointer.isDown;
      e.preventDefault();
      return;
    }
    const action = actionFor(e);
    if (!action || (action === "delete" && !inEditor(e.target))) return; // Delete on a panel's button is the panel's
    e.preventDefault();
    e.stopPropagation();
    run[action]();
    canvas.setDirty(true, true);
  };
  const onKeyUp = (e) => {
    if (e.code === "Space") {
      canvas.read_only = false;
      canvas.dragging_canvas = (canvas._previously_dragging_canvas ?? false) && canvas.pointer.isDown;
      canvas._previously_dragging_canvas = null;
    }
  };
  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("keyup", onKeyUp);
  return () => {
    document.removeEventListener("keydown", onKeyDown);
    document.removeEventListener("keyup", onKeyUp);
    search.destroy();
  };
}
