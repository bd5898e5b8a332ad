// Settings, stored on the server through GET/POST /settings (ids "Loom.*"), applied
// to the page (theme) and to the editor (links, grid, minimap) as they change.
import { h, toast } from "./ui.js";

export const SETTINGS = [
  { id: "Loom.Theme", label: "Theme", type: "select", options: [["dark", "Dark"], ["light", "Light"]], default: "dark" },
  {
    id: "Loom.LinkRenderMode", label: "Link render mode", type: "select", default: "spline",
    options: [["spline", "Spline"], ["linear", "Linear"], ["straight", "Straight"]],
  },
  { id: "Loom.SnapToGrid", label: "Snap to grid", type: "checkbox", default: false },
  { id: "Loom.GridSize", label: "Grid size", type: "number", min: 1, max: 100, default: 10 },
  { id: "Loom.Preview", label: "Live previews while sampling", type: "checkbox", default: true },
  { id: "Loom.ShowMinimap", label: "Show minimap", type: "checkbox", default: false },
];

const SHORTCUTS = [
  ["Ctrl+Enter", "Queue the workflow"],
  ["Ctrl+Shift+Enter", "Queue it at the front"],
  ["Ctrl+Alt+Enter", "Interrupt the running prompt"],
  ["Ctrl+S", "Save"],
  ["Ctrl+O", "Open a saved workflow"],
  ["Escape", "Close the panel"],
  ["F2 (on a tab)", "Rename the workflow"],
];

export class Settings {
  constructor({ api, onApply = () => {} }) {
    this.api = api;
    this.onApply = onApply;
    this.values = Object.fromEntries(SETTINGS.map((setting) => [setting.id, setting.default]));
    this.stored = {};
    this.controls = new Map();
    this.listeners = new Map(); // id -> onChange of settings added by extensions
    this.extensionSection = h("div", { class: "extension-settings" });
    this.element = h("form", { class: "settings", onsubmit: (event) => event.preventDefault() },
      ...SETTINGS.map((setting) => this.control(setting)),
      this.extensionSection,
      h("h3", {}, "Keyboard shortcuts"),
      h("dl", { class: "shortcuts" }, ...SHORTCUTS.flatMap(([keys, what]) => [h("dt", {}, h("kbd", {}, keys)), h("dd", {}, what)])));
  }

  async load() {
    try {
      const stored = await this.api.getSettings();
      this.stored = stored && typeof stored === "object" ? stored : {};
      for (const setting of SETTINGS) {
        if (stored && setting.id in stored) this.values[setting.id] = stored[setting.id];
      }
    } catch (error) {
      toast(`Settings could not be read: ${error.message}`, { kind: "warning" });
    }
    this.syncControls();
    this.apply();
  }

  get(id) {
    return id in this.values ? this.values[id] : this.stored[id];
  }

  async set(id, value) {
    this.values[id] = value;
    this.apply();
    this.listeners.get(id)?.(value);
    try {
      await this.api.storeSetting(id, value);
    } catch (error) {
      toast(`Setting not saved: ${error.message}`, { kind: "error" });
    }
  }

  editorSettings() {
    return {
      theme: this.get("Loom.Theme"),
      linkRenderMode: this.get("Loom.LinkRenderMode"),
      snapToGrid: Boolean(this.get("Loom.SnapToGrid")),
      gridSize: Number(this.get("Loom.GridSize")) || 10,
      showMinimap: Boolean(this.get("Loom.ShowMinimap")),
    };
  }

  apply() {
    document.documentElement.dataset.theme = this.get("Loom.Theme") === "light" ? "light" : "dark";
    this.onApply(this.editorSettings());
  }

  // ComfyUI's app.ui.settings.addSetting({id, name, type, defaultValue, options, onChange}):
  // type "boolean", "number", "text" or "combo" (options: strings or {text, value}).
  // onChange runs with the current value now and after every change, as in ComfyUI.
  addSetting({ id, name, type = "text", defaultValue, options = [], onChange, attrs = {} }) {
    if (!id || this.controls.has(id)) return;
    this.values[id] = id in this.stored ? this.stored[id] : defaultValue;
    const kinds = { boolean: "checkbox", number: "number", combo: "select", text: "text" };
    const choices = (typeof options === "function" ? options(this.values[id]) : options)
      .map((option) => (typeof option === "object" ? [option.value, option.text ?? option.value] : [option, option]));
    if (typeof onChange === "function") this.listeners.set(id, onChange);
    this.extensionSection.append(this.control({
      id, label: name ?? id, type: kinds[type] ?? "text", options: choices,
      min: attrs.min ?? -Infinity, max: attrs.max ?? Infinity, default: defaultValue,
    }));
    this.syncControls();
    onChange?.(this.values[id], undefined);
  }

  control(setting) {
    const name = setting.id;
    let input;
    if (setting.type === "select") {
      input = h("select", { name, id: `setting-${name}` },
        ...setting.options.map(([value, label]) => h("option", { value }, label)));
      input.addEventListener("change", () => this.set(name, input.value));
    } else if (setting.type === "checkbox") {
      input = h("input", { type: "checkbox", name, id: `setting-${name}` });
      input.addEventListener("change", () => this.set(name, input.checked));
    } else if (setting.type === "text") {
      input = h("input", { type: "text", name, id: `setting-${name}` });
      input.addEventListener("change", () => this.set(name, input.value));
    } else {
      input = h("input", { type: "number", name, id: `setting-${name}`, min: String(setting.min), max: String(setting.max) });
      input.addEventListener("change", () => {
        const value = Math.min(setting.max, Math.max(setting.min, Number(input.value) || setting.default));
        input.value = String(value);
        this.set(name, value);
      });
    }
    this.controls.set(name, input);
    return h("div", { class: `setting ${setting.type}` }, h("label", { for: `setting-${name}` }, setting.label), input);
  }

  syncControls() {
    for (const [id, input] of this.controls) {
      if (input.type === "checkbox") input.checked = Boolean(this.values[id]);
      else input.value = String(this.values[id] ?? "");
    }
  }
}
