// Several open workflows in tabs over one editor. Each tab keeps its workflow (the
// live one is in the editor), its saved snapshot (to show the unsaved marker) and
// its place in the user's storage. Open tabs survive a reload through localStorage.
import { h, confirmDialog } from "./ui.js";

const STORAGE_KEY = "Loom.openTabs";

export const BLANK_WORKFLOW = Object.freeze({
  last_node_id: 0, last_link_id: 0, nodes: [], links: [], groups: [], config: {}, extra: {}, version: 0.4,
});

// The workflow as compared for the unsaved marker: the view position is not an edit.
export function canonical(workflow) {
  const copy = structuredClone(workflow ?? {});
  if (copy.extra) delete copy.extra.ds;
  return JSON.stringify(copy);
}

// A workflow saved without a view: show its nodes, at a zoom where their text stays readable.
export function initialView(editor, minScale = 0.7) {
  const nodes = editor.graph._nodes ?? [];
  const element = editor.canvas.canvas;
  if (!nodes.length || !element?.clientWidth) return;
  const x0 = Math.min(...nodes.map((n) => n.pos[0]));
  const y0 = Math.min(...nodes.map((n) => n.pos[1])) - 30;
  const x1 = Math.max(...nodes.map((n) => n.pos[0] + n.size[0]));
  const y1 = Math.max(...nodes.map((n) => n.pos[1] + n.size[1]));
  const margin = 24;
  const fit = Math.min((element.clientWidth - 2 * margin) / (x1 - x0), (element.clientHeight - 2 * margin) / (y1 - y0));
  const scale = Math.max(minScale, Math.min(1, fit));
  const width = (x1 - x0) * scale;
  const left = width < element.clientWidth ? (element.clientWidth - width) / 2 : margin;
  editor.canvas.ds.scale = scale;
  editor.canvas.ds.offset = [left / scale - x0, margin / scale - y0];
  editor.canvas.setDirty(true, true);
}

export class Tabs {
  constructor({ editor, element, storage = window.localStorage, onLoaded = () => {}, onSwitch = () => {},
    beforeLoad = () => {}, onRename = () => {} }) {
    this.beforeLoad = beforeLoad;
    this.onRename = onRename;
    this.editor = editor;
    this.element = element;
    this.storage = storage;
    this.onLoaded = onLoaded;
    this.onSwitch = onSwitch;
    this.tabs = [];
    this.active = null;
    this.loading = false;
    this.counter = 0;
    this.timer = null;
    editor.onChange(() => this.changed());
  }

  get current() {
    return this.tabs.find((tab) => tab.id === this.active) ?? null;
  }

  newId() {
    this.counter += 1;
    return `tab-${Date.now().toString(36)}-${this.counter}`;
  }

  // Load a workflow into the editor without marking anything unsaved.
  loadIntoEditor(tab) {
    this.loading = true;
    let report;
    try {
      const workflow = structuredClone(tab.workflow);
      this.beforeLoad(workflow);
      report = this.editor.load(workflow);
    } finally {
      this.loading = false;
    }
    if (!tab.workflow.extra?.ds && tab.workflow.nodes?.length) initialView(this.editor);
    tab.workflow = this.editor.serialize();
    if (tab.saved === null) tab.saved = canonical(tab.workflow);
    tab.dirty = canonical(tab.workflow) !== tab.saved;
    this.onLoaded(report ?? { missing: [], repaired: [] }, tab);
    return report;
  }

  // Keep the live tab's workflow and marker up to date; persist.
  changed() {
    if (this.loading) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.sync(), 80);
  }

  sync() {
    clearTimeout(this.timer);
    const tab = this.current;
    if (!tab) return;
    tab.workflow = this.editor.serialize();
    tab.dirty = canonical(tab.workflow) !== tab.saved;
    this.render();
    this.persist();
  }

  open(workflow, { name = "Unsaved Workflow", path = null } = {}) {
    if (path) {
      const known = this.tabs.find((tab) => tab.path === path);
      if (known && !known.dirty) {
        this.activate(known.id);
        return known;
      }
    }
    this.sync();
    const tab = { id: this.newId(), name, path, workflow, saved: null, dirty: false };
    const previous = this.current;
    this.tabs.push(tab);
    this.active = tab.id;
    try {
      this.loadIntoEditor(tab);
    } catch (error) {
      // a workflow the editor cannot load: back to the tab that was open
      this.tabs.pop();
      this.active = previous?.id ?? null;
      if (previous) this.loadIntoEditor(previous);
      this.render();
      throw error;
    }
    this.render();
    this.persist();
    this.onSwitch(tab);
    return tab;
  }

  activate(id) {
    if (id === this.active) return;
    this.sync();
    const tab = this.tabs.find((candidate) => candidate.id === id);
    if (!tab) return;
    this.active = id;
    this.loadIntoEditor(tab);
    this.render();
    this.persist();
    this.onSwitch(tab);
  }

  async close(id) {
    const tab = this.tabs.find((candidate) => candidate.id === id);
    if (!tab) return false;
    if (id === this.active) this.sync();
    if (tab.dirty && !(await confirmDialog({
      title: "Close tab", message: `"${tab.name}" has unsaved changes. Close it anyway?`, okLabel: "Close",
    }))) return false;
    const index = this.tabs.indexOf(tab);
    this.tabs.splice(index, 1);
    if (this.tabs.length === 0) {
      this.active = null;
      this.open(structuredClone(BLANK_WORKFLOW));
      return true;
    }
    if (id === this.active) {
      this.active = null;
      this.activate(this.tabs[Math.max(0, index - 1)].id);
    } else {
      this.render();
      this.persist();
    }
    return true;
  }

  // After a save: the tab now matches the file at `path`.
  markSaved(tab, { path, name }) {
    if (tab === this.current) tab.workflow = this.editor.serialize();
    tab.path = path;
    tab.name = name;
    tab.saved = canonical(tab.workflow);
    tab.dirty = false;
    this.render();
    this.persist();
  }

  persist() {
    const data = {
      active: this.active,
      tabs: this.tabs.map(({ id, name, path, workflow, saved }) => ({ id, name, path, workflow, saved })),
    };
    try {
      this.storage.setItem(STORAGE_KEY, JSON.stringify(data));
    } catch (error) {
      console.warn("could not remember the open tabs", error);
    }
  }

  // Reopen the tabs of the last visit; false when there were none.
  restore() {
    let data;
    try {
      data = JSON.parse(this.storage.getItem(STORAGE_KEY) ?? "null");
    } catch {
      data = null;
    }
    if (!data || !Array.isArray(data.tabs) || data.tabs.length === 0) return false;
    this.tabs = data.tabs
      .filter((tab) => tab && tab.workflow && typeof tab.workflow === "object")
      .map((tab) => ({ ...tab, id: tab.id ?? this.newId(), saved: tab.saved ?? null, dirty: false }));
    if (this.tabs.length === 0) return false;
    for (const tab of this.tabs) tab.dirty = tab.saved !== null && canonical(tab.workflow) !== tab.saved;
    const active = this.tabs.find((tab) => tab.id === data.active) ?? this.tabs[0];
    this.active = active.id;
    this.loadIntoEditor(active);
    this.render();
    this.persist();
    this.onSwitch(active);
    return true;
  }

  // Left/Right move between tabs (the focus follows), F2 renames.
  keydown(event, tab) {
    const index = this.tabs.indexOf(tab);
    const step = { ArrowLeft: -1, ArrowRight: 1 }[event.key];
    if (event.key === "F2") {
      event.preventDefault();
      this.onRename(tab);
      return;
    }
    if (!step) return;
    event.preventDefault();
    const next = this.tabs[(index + step + this.tabs.length) % this.tabs.length];
    this.activate(next.id);
  }

  // "*my flow - Loom": the page title names the open workflow and marks unsaved changes.
  pageTitle() {
    const tab = this.current;
    return tab ? `${tab.dirty ? "*" : ""}${tab.name} - Loom` : "Loom";
  }

  render() {
    document.title = this.pageTitle();
    const hadFocus = this.element.contains(document.activeElement);
    const items = this.tabs.map((tab) => {
      const selected = tab.id === this.active;
      const label = h("button", {
        class: "tab-label", role: "tab", "aria-selected": String(selected), title: tab.path ?? tab.name,
        tabindex: selected ? "0" : "-1", onclick: () => this.activate(tab.id),
        ondblclick: () => this.onRename(tab), onkeydown: (event) => this.keydown(event, tab),
      }, h("span", { class: "tab-name" }, tab.name), h("span", { class: "dirty-marker", "aria-label": tab.dirty ? "unsaved changes" : null }, " •"));
      const close = h("button", {
        class: "tab-close icon", "aria-label": `Close ${tab.name}`, title: "Close tab",
        onclick: () => this.close(tab.id),
      }, "×");
      return h("div", { class: `tab${selected ? " active" : ""}${tab.dirty ? " dirty" : ""}`, dataset: { tabId: tab.id } },
        label, close);
    });
    const add = h("button", {
      class: "tab-new icon", "aria-label": "New workflow", title: "New workflow",
      onclick: () => this.open(structuredClone(BLANK_WORKFLOW)),
    }, "+");
    this.element.replaceChildren(...items, add);
    if (hadFocus) this.element.querySelector(".tab.active .tab-label")?.focus();
  }
}
