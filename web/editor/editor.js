/**
 * createEditor: the public API of the canvas (see docs in the issue / README).
 * A thin adapter around the vendored LiteGraph: graph model in, UI JSON out.
 */
import * as lib from "../vendor/litegraph.es.js";
import { registerNodeTypes } from "./node_types.js";
import { registerVirtualNodes, registerPlaceholder, VIRTUAL_DEFS } from "./virtual_nodes.js";
import { toV04, repairLinks, findMissing, extraKeys, mergeExtraKeys, editKey } from "./serialize.js";
import { UndoStack } from "./undo.js";
import { isCompatible, TYPE_COLORS } from "./types.js";
import { nextControlValue } from "./widgets.js";
import { Feedback, styleModes } from "./feedback.js";
import { Theme } from "./theme.js";
import { Minimap } from "./minimap.js";
import { installKeys } from "./commands.js";
import { toggleHelp } from "./keys.js";
import { installSearch } from "./canvas_search.js";
import { installTooltips } from "./tooltip.js";
import { installTitleEditor } from "./title_editor.js";
import { extendMenus } from "./context_menu.js";
import { insertOnLink } from "./links.js";
import { copySelection, paste } from "./clipboard.js";

const { LiteGraph, LGraph, LGraphCanvas } = lib;

/** Library-wide settings: ComfyUI's type rules and colours, our own search and menus. */
function configureLibrary() {
  LiteGraph.isValidConnection = (a, b) => isCompatible(a, b);
  LiteGraph.release_link_on_empty_shows_menu = false;
  LiteGraph.ctrl_shift_v_paste_connect_unselected_outputs = true;
  LiteGraph.alt_drag_do_clone_nodes = true;
  LiteGraph.catch_exceptions = true;
  Object.assign(LGraphCanvas.link_type_colors, TYPE_COLORS);
}

export async function createEditor(canvasElement, { objectInfo, hooks = {}, api = null }) {
  configureLibrary();
  const root = canvasElement.parentElement;
  root.classList.add("loom-editor");
  const overlay = document.createElement("div");
  overlay.className = "loom-overlay";
  root.appendChild(overlay);
  canvasElement.tabIndex = 0;
  canvasElement.classList.add("loom-canvas");
  canvasElement.setAttribute("aria-label", "Workflow canvas");

  const graph = new LGraph();
  const canvas = new LGraphCanvas(canvasElement, graph);
  canvas.allow_searchbox = false;
  canvas.show_info = false;
  canvas.render_canvas_border = false;
  canvas.default_connection_color_byType = { ...TYPE_COLORS };
  canvas.default_connection_color_byTypeOff = { ...TYPE_COLORS };
  // LiteGraph's own key handler uses key names; ours (commands.js) uses event.code.
  canvasElement.removeEventListener("keydown", canvas._key_callback, true);
  document.removeEventListener("keyup", canvas._key_callback, true);

  // The canvas's pixels follow its box and the device pixel ratio (browser zoom, HiDPI screens);
  // LiteGraph draws in CSS pixels on top of a base scale that whoever resizes must set again.
  const ratio = () => Math.max(1, window.devicePixelRatio || 1);
  const applyScale = () => {
    const ctx2d = canvasElement.getContext("2d");
    if (ctx2d.getTransform().a !== ratio()) ctx2d.setTransform(ratio(), 0, 0, ratio(), 0, 0);
    canvas.setDirty(true, true);
  };
  const resize = canvas.resize.bind(canvas);
  canvas.resize = (w, h) => { resize(w, h); applyScale(); };
  const fit = () => {
    const [w, h] = [Math.round(root.clientWidth * ratio()), Math.round(root.clientHeight * ratio())];
    if (w && h) canvas.resize(w, h);
  };
  const resizeObserver = new ResizeObserver(fit);
  resizeObserver.observe(root);
  fit();

  const listeners = new Set();
  const undo = new UndoStack(200);
  const textAreas = new Set();
  let frame = 0;
  let loading = false;
  let kept = { top: {}, nodes: new Map() };
  let checkpointTimer = null;

  const feedback = new Feedback(canvas, api, () => canvas.setDirty(true, false));
  styleModes(canvas);
  const ctx = {
    canvas, overlay, api, textAreas,
    frame: () => frame,
    changed: () => { canvas.setDirty(true, false); scheduleCheckpoint(300); },
    showImages: (node, urls) => feedback.loadImages(node.id, urls),
  };
  registerVirtualNodes(lib, ctx);
  await registerNodeTypes(lib, objectInfo, hooks, ctx);
  const known = new Set([...Object.keys(objectInfo), ...VIRTUAL_DEFS.map((d) => d.name)]);
  const defs = [...Object.entries(objectInfo).map(([name, d]) => ({ ...d, name })), ...VIRTUAL_DEFS];

  // Text areas that were not drawn this frame are hidden (node off-screen, collapsed, removed).
  canvas.onDrawForeground = (c) => {
    feedback.draw(c, graph, LiteGraph.NODE_TITLE_HEIGHT);
    for (const w of textAreas) {
      if (!w.textarea.isConnected) textAreas.delete(w);
      else if (w.drawnFrame !== frame) w.hide();
    }
    frame += 1;
  };

  function serialize() {
    const wf = graph.serialize();
    wf.version = 0.4;
    // the view travels with the workflow, as ComfyUI keeps it (not an edit: editKey leaves it out)
    wf.extra = { ...(wf.extra ?? {}), ds: { scale: canvas.ds.scale, offset: [...canvas.ds.offset] } };
    return mergeExtraKeys(wf, kept);
  }
  const notify = () => { for (const cb of listeners) cb(); };
  function checkpoint() {
    clearTimeout(checkpointTimer);
    checkpointTimer = null;
    if (loading) return;
    if (undo.record(editKey(serialize()))) notify();
  }
  function scheduleCheckpoint(delay = 0) {
    clearTimeout(checkpointTimer);
    checkpointTimer = setTimeout(checkpoint, delay);
  }

  /** Configure the graph from a repaired 0.4 workflow, keeping the view. */
  function configure(wf) {
    loading = true;
    try {
      const data = { ...wf };
      delete data.definitions;
      graph.configure(data);
      for (const node of graph._nodes) node.onLoomAfterLoad?.();
      // a workflow needs its own id (LiteGraph leaves new graphs at the all-zero uuid)
      if (!graph.id || /^[0-]+$/.test(graph.id)) graph.id = lib.createUuidv4();
    } finally {
      loading = false;
    }
    canvas.setDirty(true, true);
  }

  /** Show an undo/redo snapshot; what it reads back as becomes the current state (no stray step). */
  function restore(snapshot) {
    if (!snapshot) return false;
    configure(JSON.parse(snapshot));
    undo.replaceCurrent(editKey(serialize()));
    notify();
    return true;
  }

  graph.onAfterChange = () => scheduleCheckpoint(0);
  const afterPointer = () => scheduleCheckpoint(0);
  document.addEventListener("pointerup", afterPointer, true); // LiteGraph stops the canvas's own events
  canvas.onNodeMoved = (node) => {
    if (canvas.selectedItems.size === 1 && insertOnLink(canvas, node)) scheduleCheckpoint(0);
  };

  const editor = {
    graph, canvas,
    load(workflow) {
      const wf = toV04(workflow);
      const repaired = repairLinks(wf);
      const subgraphs = new Map((wf.definitions?.subgraphs ?? []).map((s) => [s.id, s]));
      const subgraphIds = new Set(subgraphs.keys());
      const missing = findMissing(wf, (t) => known.has(t) || subgraphIds.has(t));
      for (const node of wf.nodes) {
        if (known.has(node.type) || LiteGraph.registered_node_types[node.type]) continue;
        const sub = subgraphs.get(node.type);
        if (sub) registerPlaceholder(lib, node.type, "subgraph: kept, not editable yet", sub.name || "Subgraph");
        else registerPlaceholder(lib, node.type);
      }
      kept = extraKeys(wf);
      feedback.reset();
      configure(wf);
      const ds = wf.extra?.ds;
      if (ds && Number.isFinite(ds.scale) && ds.scale > 0 && Array.isArray(ds.offset)) {
        canvas.ds.scale = ds.scale;
        canvas.ds.offset = [Number(ds.offset[0]) || 0, Number(ds.offset[1]) || 0];
      }
      undo.reset(editKey(serialize()));
      return { missing: missing.filter((m) => !subgraphIds.has(m.type)), repaired };
    },
    serialize,
    onChange(cb) { listeners.add(cb); return () => listeners.delete(cb); },
    undo() { checkpoint(); return restore(undo.undo()); },
    redo() { checkpoint(); return restore(undo.redo()); },
    canUndo: () => undo.canUndo(),
    canRedo: () => undo.canRedo(),
    checkpoint,
    applyControlAfterGenerate() {
      checkpoint();
      for (const node of graph._nodes) {
        if (node.mode === 2) continue;
        for (const w of node.widgets ?? []) {
          const target = w.controlTarget;
          if (!target) continue;
          const { min, max, step2 } = target.options;
          target.value = nextControlValue(Number(target.value), w.value, { min, max, step: step2 || 1 });
        }
        node.push?.();
      }
      undo.replaceCurrent(editKey(serialize()));
      canvas.setDirty(true, false);
      notify();
    },
    setRunning: (id) => feedback.setRunning(id),
    setProgress: (id, value, max) => feedback.setProgress(id, value, max),
    setPreview: (id, url) => feedback.setPreview(id, url),
    setNodeOutput: (id, output) => feedback.setNodeOutput(id, output),
    setErrors: (errors) => feedback.setErrors(errors),
    clearErrors: () => feedback.clearErrors(),
    applySettings(settings = {}) {
      theme.apply(settings);
      if (settings.showMinimap !== undefined) minimap.show(settings.showMinimap);
    },
    fitView() {
      const nodes = graph._nodes;
      if (!nodes.length) return;
      const x0 = Math.min(...nodes.map((n) => n.pos[0]));
      const y0 = Math.min(...nodes.map((n) => n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT));
      const x1 = Math.max(...nodes.map((n) => n.pos[0] + n.size[0]));
      const y1 = Math.max(...nodes.map((n) => n.pos[1] + n.size[1]));
      canvas.ds.fitToBounds([x0, y0, x1 - x0, y1 - y0], { zoom: 0.9 });
      canvas.setDirty(true, true);
    },
    copy: () => copySelection(canvas),
    paste({ withLinks = false } = {}) { const done = paste(canvas, { withLinks }); scheduleCheckpoint(0); return done; },
    setMode(nodes, mode) {
      const all = nodes.every((n) => n.mode === mode);
      for (const n of nodes) n.mode = all ? 0 : mode;
      canvas.setDirty(true, true);
      checkpoint();
    },
    destroy() {
      clearTimeout(checkpointTimer);
      resizeObserver.disconnect();
      cleanups.forEach((fn) => fn());
      canvas.stopRendering?.();
      canvas.unbindEvents?.();
      graph.clear();
      minimap.destroy();
      overlay.remove();
      root.querySelector(".loom-search")?.remove();
      root.querySelector(".loom-help")?.remove();
      listeners.clear();
    },
  };

  const theme = new Theme(LiteGraph, canvas, root);
  const minimap = new Minimap(root, canvas);
  const search = installSearch(root, canvas, editor, defs);
  const cleanups = [
    () => document.removeEventListener("pointerup", afterPointer, true),
    installKeys(root, canvas, editor, search),
    installTooltips(root, canvas),
    installTitleEditor(root, canvas, () => checkpoint()),
  ];
  extendMenus(canvas, { search: (e) => search.open(e), fitView: editor.fitView, help: () => toggleHelp(root), setMode: editor.setMode });
  editor.applySettings({ theme: "dark", linkRenderMode: "spline", showMinimap: false });
  configure({ nodes: [], links: [], version: 0.4 });
  undo.reset(editKey(serialize()));
  canvas.startRendering?.();
  return editor;
}
