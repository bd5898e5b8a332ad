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
];

export class Settings {
  constructor({ api, onApply = () => {} }) {
    this.api = api;
    this.onApply = onApply;
    this.values = Object.fromEntries(SETTINGS.map((setting) => [setting.id, setting.default]));
    this.controls = new Map();
    this.element = h("form", { class: "settings", onsubmit: (event) => event.preventDefault() },
      ...SETTINGS.map((setting) => this.control(setting)),
      h("h3", {}, "Keyboard shortcuts"),
      h("dl", { class: "shortcuts" }, ...SHORTCUTS.flatMap(([keys, what]) => [h("dt", {}, h("kbd", {}, keys)), h("dd", {}, what)])));
  }

  async load() {
    try {
      const stored = await this.api.getSettings();
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
    return this.values[id];
  }

  async set(id, value) {
    this.values[id] = value;
    this.apply();
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
      else input.value = String(this.values[id]);
    }
  }
}
