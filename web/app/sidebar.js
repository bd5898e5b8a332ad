// The side bar: one icon button per panel; the panel slides in over the canvas
// (it never resizes the canvas, so nothing jumps). Escape closes it.
import { h } from "./ui.js";

export class Sidebar {
  constructor({ bar, container }) {
    this.bar = bar;
    this.container = container;
    this.panels = new Map();
    this.open = null;
    container.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        const button = this.panels.get(this.open)?.button;
        this.show(null);
        button?.focus();
      }
    });
  }

  // panel: {id, label, icon, element, onShow}
  add(panel) {
    const button = h("button", {
      class: "side-button", id: `${panel.id}-panel-button`, title: panel.label, "aria-label": panel.label,
      "aria-controls": `${panel.id}-panel`, "aria-expanded": "false",
      onclick: () => this.toggle(panel.id),
    }, h("span", { class: "side-icon", "aria-hidden": "true" }, panel.icon), h("span", { class: "side-text" }, panel.label));
    const section = h("section", {
      class: "panel", id: `${panel.id}-panel`, "aria-label": panel.label, hidden: true, tabindex: "-1",
    }, h("header", { class: "panel-header" },
      h("h2", {}, panel.label),
      h("button", { class: "icon", "aria-label": `Close ${panel.label}`, title: "Close", onclick: () => this.show(null) }, "×"),
    ), panel.element);
    this.bar.append(button);
    this.container.append(section);
    this.panels.set(panel.id, { ...panel, button, section });
  }

  toggle(id) {
    this.show(this.open === id ? null : id);
  }

  show(id) {
    for (const [key, panel] of this.panels) {
      const visible = key === id;
      panel.section.hidden = !visible;
      panel.button.setAttribute("aria-expanded", String(visible));
      panel.button.classList.toggle("active", visible);
    }
    this.open = id;
    this.container.classList.toggle("open", id !== null);
    const panel = this.panels.get(id);
    if (panel) {
      panel.onShow?.();
      panel.section.focus({ preventScroll: true });
    }
  }
}
