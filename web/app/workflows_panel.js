// Workflows in the user's storage (/userdata/workflows/): list, open, save, save as,
// rename, delete; export and import JSON files, export in API format, and opening a
// JSON file or a PNG/WebP with an embedded workflow (file picker or drag and drop).
import { h, toast, askText, confirmDialog, download } from "./ui.js";
import { workflowFromImage } from "./image_metadata.js";
import { dropImageAsNode } from "./image_drop.js";
import { isApiFormat, baseName, fileName } from "./formats.js";

const DIR = "workflows/";

export class WorkflowsPanel {
  constructor({ api, tabs, editor, onError }) {
    this.api = api;
    this.tabs = tabs;
    this.editor = editor;
    this.onError = onError;
    this.list = h("ul", { class: "workflow-list", "aria-label": "Saved workflows" });
    this.filter = h("input", {
      type: "search", placeholder: "Filter saved workflows", "aria-label": "Filter saved workflows", id: "workflow-filter",
      oninput: () => this.applyFilter(),
    });
    this.picker = h("input", {
      type: "file", accept: ".json,application/json,image/png,image/webp", hidden: true, id: "import-file",
      onchange: () => {
        const [file] = this.picker.files;
        this.picker.value = "";
        if (file) this.openFile(file);
      },
    });
    const button = (label, onclick, id) => h("button", { class: "small", id, onclick }, label);
    this.element = h("div", { class: "workflows-panel" },
      h("div", { class: "button-row" },
        button("Save", () => this.save(), "save-workflow"),
        button("Save as…", () => this.save({ as: true }), "save-workflow-as"),
        button("Import…", () => this.picker.click(), "import-workflow"),
        button("Export JSON", () => this.exportJSON(), "export-workflow"),
        button("Export API", () => this.exportAPI(), "export-api")),
      this.picker, h("h3", {}, "Saved"), this.filter, this.list);
  }

  async refresh() {
    let files;
    try {
      files = await this.api.listWorkflows();
    } catch (error) {
      toast(`Could not list workflows: ${error.message}`, { kind: "error" });
      return;
    }
    const paths = files.map((file) => (typeof file === "string" ? file : file.path)).filter((p) => p.endsWith(".json"));
    this.list.replaceChildren(...paths.map((path) => this.row(DIR + path)));
    if (!paths.length) this.list.append(h("li", { class: "empty" }, "No saved workflows yet."));
    this.applyFilter();
  }

  applyFilter() {
    const words = this.filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const item of this.list.querySelectorAll(".workflow-item")) {
      const path = item.dataset.path.toLowerCase();
      item.hidden = !words.every((word) => path.includes(word));
    }
  }

  row(path) {
    const name = baseName(path);
    return h("li", { class: "workflow-item", dataset: { path } },
      h("button", { class: "link open-workflow", title: `Open ${path}`, onclick: () => this.openSaved(path) }, name),
      h("button", { class: "small", "aria-label": `Rename ${name}`, onclick: () => this.rename(path) }, "Rename"),
      h("button", { class: "small danger", "aria-label": `Delete ${name}`, onclick: () => this.remove(path) }, "Delete"));
  }

  async openSaved(path) {
    try {
      const workflow = await this.api.getUserData(path);
      await this.openData(workflow, { name: baseName(path), path });
    } catch (error) {
      toast(`Could not open ${path}: ${error.message}`, { kind: "error" });
    }
  }

  // Open UI- or API-format data in a new tab.
  async openData(data, { name, path = null }) {
    if (isApiFormat(data)) data = (await this.api.toUiFormat(data)).workflow;
    if (!data || !Array.isArray(data.nodes)) throw new Error("this is not a workflow (no nodes)");
    return this.tabs.open(data, { name, path });
  }

  // `drop` ({clientX, clientY}) when the file was dropped on the canvas: an image
  // without a workflow then goes into a LoadImage node there.
  async openFile(file, drop = null) {
    const name = file.name.replace(/\.(json|png|webp)$/i, "");
    try {
      if (/\.(png|webp|jpe?g)$/i.test(file.name) || /^image\//.test(file.type)) {
        const found = await workflowFromImage(file);
        if (!found && drop) {
          await dropImageAsNode({ api: this.api, editor: this.editor, file, ...drop });
          toast(`Uploaded ${file.name}`);
          return;
        }
        if (!found) throw new Error("the image carries no workflow");
        await this.openData(found.workflow ?? found.prompt, { name });
      } else {
        await this.openData(JSON.parse(await file.text()), { name });
      }
      toast(`Opened ${file.name}`);
    } catch (error) {
      toast(`Could not open ${file.name}: ${error.message}`, { kind: "error" });
    }
  }

  async save({ as = false } = {}) {
    const tab = this.tabs.current;
    if (!tab) return;
    this.tabs.sync();
    let path = tab.path;
    let overwrite = true;
    if (!path || as) {
      const name = await askText({ title: "Save workflow", label: "Name", value: tab.path ? `${tab.name} copy` : tab.name, okLabel: "Save" });
      if (!name) return;
      path = DIR + fileName(name);
      overwrite = false;
    }
    try {
      await this.write(path, tab.workflow, overwrite);
    } catch (error) {
      toast(`Could not save: ${error.message}`, { kind: "error" });
      return;
    }
    this.tabs.markSaved(tab, { path, name: baseName(path) });
    toast(`Saved ${baseName(path)}`);
    this.refresh();
  }

  async write(path, workflow, overwrite) {
    try {
      await this.api.putUserData(path, workflow, { overwrite });
    } catch (error) {
      if (error.status !== 409) throw error;
      if (!(await confirmDialog({ title: "Overwrite?", message: `${baseName(path)} exists. Replace it?`, okLabel: "Replace" }))) {
        throw new Error("not overwritten");
      }
      await this.api.putUserData(path, workflow, { overwrite: true });
    }
  }

  // Rename a tab: its file when it has one, else just the tab.
  async renameTab(tab) {
    if (tab.path) return this.rename(tab.path);
    const name = await askText({ title: "Rename workflow", label: "New name", value: tab.name, okLabel: "Rename" });
    if (!name) return;
    tab.name = name;
    this.tabs.render();
    this.tabs.persist();
  }

  async rename(path) {
    const name = await askText({ title: "Rename workflow", label: "New name", value: baseName(path), okLabel: "Rename" });
    if (!name) return;
    const target = DIR + fileName(name);
    if (target === path) return;
    try {
      await this.api.moveUserData(path, target);
    } catch (error) {
      toast(`Could not rename: ${error.status === 409 ? `${name} exists` : error.message}`, { kind: "error" });
      return;
    }
    for (const tab of this.tabs.tabs.filter((t) => t.path === path)) {
      tab.path = target;
      tab.name = baseName(target);
    }
    this.tabs.render();
    this.tabs.persist();
    this.refresh();
  }

  async remove(path) {
    if (!(await confirmDialog({ title: "Delete workflow", message: `Delete ${baseName(path)}?`, okLabel: "Delete" }))) return;
    try {
      await this.api.deleteUserData(path);
    } catch (error) {
      toast(`Could not delete: ${error.message}`, { kind: "error" });
    }
    for (const tab of this.tabs.tabs.filter((t) => t.path === path)) {
      tab.path = null;
      tab.saved = "";
      tab.dirty = true;
    }
    this.tabs.render();
    this.tabs.persist();
    this.refresh();
  }

  exportJSON() {
    this.tabs.sync();
    const tab = this.tabs.current;
    download(fileName(tab.name), JSON.stringify(tab.workflow, null, 2));
  }

  async exportAPI() {
    this.tabs.sync();
    const tab = this.tabs.current;
    try {
      const { prompt } = await this.api.toApiFormat(tab.workflow);
      download(fileName(`${tab.name}_api`), JSON.stringify(prompt, null, 2));
    } catch (error) {
      this.onError(error);
    }
  }

  // Drag a JSON file or an image with a workflow onto `target`. A file dropped anywhere
  // else on the page is ignored rather than opened by the browser in place of the editor.
  installDrop(target) {
    for (const type of ["dragover", "drop"]) {
      window.addEventListener(type, (event) => {
        if ([...(event.dataTransfer?.types ?? [])].includes("Files")) event.preventDefault();
      });
    }
    target.addEventListener("dragover", (event) => {
      if (![...event.dataTransfer.types].includes("Files")) return;
      event.preventDefault();
      target.classList.add("drop-target");
    });
    target.addEventListener("dragleave", () => target.classList.remove("drop-target"));
    target.addEventListener("drop", (event) => {
      target.classList.remove("drop-target");
      const [file] = event.dataTransfer.files;
      if (!file) return;
      event.preventDefault();
      event.stopPropagation();
      this.openFile(file, { clientX: event.clientX, clientY: event.clientY });
    }, true);
  }
}
