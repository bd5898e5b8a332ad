// Loom's editor page: wires the canvas editor (web/editor/) to the server through
// the app modules (web/app/). Nothing runs at import except main() itself.
import { app } from "./scripts/app.js";
import { api } from "./scripts/api.js";
import { Socket } from "./app/socket.js";
import { Tabs, BLANK_WORKFLOW } from "./app/tabs.js";
import { Execution } from "./app/execution.js";
import { Gallery } from "./app/gallery.js";
import { QueuePanel } from "./app/queue_panel.js";
import { WorkflowsPanel } from "./app/workflows_panel.js";
import { isApiFormat } from "./app/formats.js";
import { Settings } from "./app/settings_panel.js";
import { Sidebar } from "./app/sidebar.js";
import { bindKeys } from "./app/keys.js";
import { reportLoad, reportPromptError } from "./app/problems.js";
import { toast } from "./app/ui.js";

const $ = (id) => document.getElementById(id);

function clientId() {
  let id = sessionStorage.getItem("Loom.clientId");
  if (!id) {
    id = crypto.randomUUID().replaceAll("-", "");
    sessionStorage.setItem("Loom.clientId", id);
  }
  return id;
}

// Fit the graph in view, but never below the scale where LiteGraph stops drawing text.
function showWhole(editor, minScale = 0.72) {
  editor.fitView();
  const ds = editor.canvas.ds;
  if (ds.scale < minScale) {
    ds.scale = minScale;
    ds.offset = [20, 30];
    editor.canvas.setDirty(true, true);
  }
}

async function defaultWorkflow() {
  try {
    let workflow = await api.getDefaultWorkflow();
    if (isApiFormat(workflow)) workflow = (await api.toUiFormat(workflow)).workflow;
    if (workflow && Array.isArray(workflow.nodes)) return workflow;
  } catch (error) {
    toast(`The default workflow could not be loaded: ${error.message}`, { kind: "warning" });
  }
  return structuredClone(BLANK_WORKFLOW);
}

function batchCount() {
  const input = $("batch-count");
  const count = Math.min(100, Math.max(1, parseInt(input.value, 10) || 1));
  input.value = String(count);
  return count;
}

async function main() {
  api.clientId = clientId();
  const socket = new Socket(api);
  const [objectInfo, extensionUrls] = await Promise.all([
    api.getObjectInfo(),
    api.getExtensions().catch(() => []),
  ]);

  const actions = {};
  app.attach({ api, actions });
  await app.load(extensionUrls);
  await app.invoke("init");
  await app.invoke("addCustomNodeDefs", objectInfo);

  const { createEditor } = await import("./editor/editor.js");
  const editor = await createEditor($("graph-canvas"), {
    objectInfo,
    hooks: app.editorHooks(),
    api: { uploadImage: (file) => api.uploadImage(file), viewUrl: (image) => api.viewUrl(image) },
  });
  app.attach({ api, editor, actions });
  // The canvas fills its box in device pixels (litegraph scales its drawing by devicePixelRatio).
  const fitCanvas = () => {
    const ratio = Math.max(1, window.devicePixelRatio || 1);
    const box = $("canvas-wrap").getBoundingClientRect();
    editor.canvas.resize(Math.round(box.width * ratio), Math.round(box.height * ratio));
  };
  new ResizeObserver(fitCanvas).observe($("canvas-wrap"));
  fitCanvas();

  const settings = new Settings({ api, onApply: (values) => editor.applySettings(values) });
  const settingsLoaded = settings.load().then(() => app.attachSettings(settings));
  const tabs = new Tabs({
    editor, element: $("tabs"),
    beforeLoad: (workflow) => app.invokeSync("beforeConfigureGraph", workflow),
    onLoaded: (report) => {
      for (const node of editor.graph._nodes ?? []) app.invokeSync("loadedGraphNode", node);
      app.invokeSync("afterConfigureGraph", report.missing ?? []);
      reportLoad(report);
    },
  });
  const gallery = new Gallery({ api, onOpenWorkflow: (file) => workflows.openFile(file) });
  const queuePanel = new QueuePanel({
    api,
    onOpen: async ({ workflow, prompt, name }) => {
      try {
        await workflows.openData(workflow ?? prompt, { name });
      } catch (error) {
        toast(`Could not open ${name}: ${error.message}`, { kind: "error" });
      }
    },
  });
  const workflows = new WorkflowsPanel({ api, tabs, editor, onError: (error) => reportPromptError(error, editor) });
  tabs.onRename = (tab) => workflows.renameTab(tab);
  const execution = new Execution({
    api, editor, tabs, gallery, settings, statusElement: $("status"), progressElement: $("progress-bar"),
    onQueueChange: () => queuePanel.scheduleRefresh(),
  });

  const sidebar = new Sidebar({ bar: $("sidebar"), container: $("panels") });
  sidebar.add({ id: "queue", label: "Queue", icon: "☰", element: queuePanel.element, onShow: () => queuePanel.refresh() });
  sidebar.add({ id: "workflows", label: "Workflows", icon: "▤", element: workflows.element, onShow: () => workflows.refresh() });
  sidebar.add({ id: "gallery", label: "Gallery", icon: "▣", element: gallery.element, onShow: () => gallery.loadHistory() });
  sidebar.add({ id: "settings", label: "Settings", icon: "⚙", element: settings.element });
  queuePanel.visible = () => sidebar.open === "queue";

  async function queue({ front = false, batchCount: count = null } = {}) {
    tabs.sync();
    editor.clearErrors();
    const times = count ?? batchCount();
    for (let i = 0; i < times; i++) {
      const workflow = editor.serialize();
      try {
        const previewMethod = settings.get("Loom.Preview") === false ? "none" : "auto";
        const result = await api.queuePrompt(workflow, { front, previewMethod });
        execution.track(result.prompt_id, tabs.active);
        if (result.node_errors && Object.keys(result.node_errors).length) editor.setErrors(result.node_errors);
        editor.applyControlAfterGenerate();
      } catch (error) {
        reportPromptError(error, editor);
        break;
      }
    }
    queuePanel.scheduleRefresh();
  }

  async function interrupt() {
    try {
      await api.interrupt();
    } catch (error) {
      toast(`Could not interrupt: ${error.message}`, { kind: "error" });
    }
  }

  Object.assign(actions, {
    queue,
    graphToPrompt: async () => {
      const workflow = editor.serialize();
      return { workflow, output: (await api.toApiFormat(workflow)).prompt };
    },
    openWorkflow: (workflow) => workflows.openData(workflow, { name: "Unsaved Workflow" }),
  });

  $("queue-button").addEventListener("click", () => queue());
  $("queue-front-button").addEventListener("click", () => queue({ front: true }));
  $("interrupt-button").addEventListener("click", interrupt);
  $("new-workflow").addEventListener("click", () => tabs.open(structuredClone(BLANK_WORKFLOW)));
  $("open-workflow").addEventListener("click", () => sidebar.show("workflows"));
  $("save-button").addEventListener("click", () => workflows.save());
  $("import-button").addEventListener("click", () => workflows.picker.click());
  $("export-button").addEventListener("click", () => workflows.exportJSON());
  const undoButton = $("undo-button");
  const redoButton = $("redo-button");
  const updateUndo = () => {
    undoButton.disabled = !editor.canUndo();
    redoButton.disabled = !editor.canRedo();
  };
  undoButton.addEventListener("click", () => { editor.undo(); updateUndo(); });
  redoButton.addEventListener("click", () => { editor.redo(); updateUndo(); });
  editor.onChange(updateUndo);
  tabs.onSwitch = updateUndo;
  bindKeys(window, {
    queue, interrupt,
    save: () => workflows.save(),
    open: () => sidebar.show("workflows"),
  });
  workflows.installDrop($("canvas-wrap"));
  window.addEventListener("beforeunload", () => tabs.sync());

  execution.listen();
  socket.connect();
  await settingsLoaded;
  let restored = false;
  try {
    restored = tabs.restore();
  } catch (error) {
    console.error("the open tabs could not be restored", error);
    toast(`The open tabs could not be restored: ${error.message}`, { kind: "warning" });
    tabs.tabs = [];
  }
  if (!restored) {
    const workflow = await defaultWorkflow();
    tabs.open(workflow, { name: "Unsaved Workflow" });
    if (!workflow.extra?.ds) showWhole(editor);   // first start: the whole default graph, readable
  }
  await app.invoke("setup");
  window.loom = { app, api, socket, editor, tabs, settings, gallery, execution, sidebar, workflows, queuePanel };
  $("boot").remove();
  document.body.dataset.ready = "true";
}

main().catch((error) => {
  console.error(error);
  const boot = $("boot");
  boot.textContent = `Loom could not start: ${error.message}`;
  boot.classList.add("failed");
});
