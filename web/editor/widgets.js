/**
 * Widgets for schema inputs: numbers (min/max/step/round), combos, strings
 * (multiline as a DOM textarea over the canvas), booleans, the seed's
 * control_after_generate combo and LoadImage's upload button.
 */

import { renderMarkdown } from "./markdown.js";

export const CONTROL_MODES = ["fixed", "increment", "decrement", "randomize"];

/** Round `value` to a multiple of `round` (as ComfyUI does, from zero), then clamp to [min, max]. */
export function roundValue(value, { min, max, round } = {}) {
  let v = Number(value);
  if (!Number.isFinite(v)) v = Number.isFinite(min) ? min : 0;
  if (round) {
    v = Math.round(v / round) * round;
    const digits = (String(round).split(".")[1] ?? "").length;
    v = Number(v.toFixed(digits));
  }
  if (min != null && v < min) v = min;
  if (max != null && v > max) v = max;
  return v;
}

/** The next value of a seed for a control mode; pure, `random()` in [0, 1). */
export function nextControlValue(value, mode, { min = 0, max = 0xffffffffffffffff, step = 1 } = {}, random = Math.random) {
  const hi = Math.min(max, Number.MAX_SAFE_INTEGER);
  const lo = Math.max(min, -Number.MAX_SAFE_INTEGER);
  switch (mode) {
    case "increment": return Math.min(hi, value + step);
    case "decrement": return Math.max(lo, value - step);
    case "randomize": {
      const span = Math.min(hi - lo, 1125899906842624); // 2^50, as ComfyUI caps it
      return lo + Math.floor(random() * (span / step + 1)) * step;
    }
    default: return value;
  }
}

function isSeedLike(name, type, opts) {
  return opts?.control_after_generate === true || (type === "INT" && (name === "seed" || name === "noise_seed"));
}

/** Add the widget(s) for one schema input; returns the main widget. */
export function addSchemaWidget(node, name, type, opts = {}, ctx) {
  const onChange = () => ctx.changed();
  let widget;
  if (type === "INT" || type === "FLOAT") {
    const step = opts.step ?? (type === "INT" ? 1 : 0.1);
    const round = type === "INT" ? Math.max(1, Math.round(opts.round || step)) : (opts.round === false ? 0 : (opts.round ?? step));
    const digits = type === "INT" ? 0 : Math.min(6, Math.max(0, (String(round || step).split(".")[1] ?? "").length));
    const options = { min: opts.min ?? -Infinity, max: opts.max ?? Infinity, step2: step, precision: digits, round };
    widget = node.addWidget("number", name, roundValue(opts.default ?? 0, options), onChange, options);
    const setValue = widget.setValue.bind(widget);
    widget.setValue = (value, extra) => setValue(roundValue(value, options), extra);
  } else if (type === "BOOLEAN") {
    widget = node.addWidget("toggle", name, Boolean(opts.default ?? false), onChange, { on: opts.label_on, off: opts.label_off });
  } else if (type === "STRING") {
    widget = opts.multiline
      ? addTextArea(node, name, opts.default ?? "", ctx, { markdown: Boolean(opts.markdown) })
      : node.addWidget("text", name, opts.default ?? "", onChange, {});
  } else {
    const values = Array.isArray(opts.__choices) ? opts.__choices : (opts.options ?? []);
    widget = node.addWidget("combo", name, opts.default ?? values[0] ?? "", onChange, { values });
  }
  widget.tooltip = opts.tooltip;
  if (isSeedLike(name, type, opts)) addControl(node, widget, ctx);
  if (opts.image_upload) addImageUpload(node, widget, ctx);
  return widget;
}

function addControl(node, target, ctx) {
  const control = node.addWidget("combo", "control_after_generate", "randomize", () => ctx.changed(), { values: CONTROL_MODES });
  control.controlTarget = target;
  control.tooltip = "what happens to the value after each queued run";
  target.linkedWidgets = [control];
  return control;
}

/** LoadImage: a button that uploads a file and selects it, plus a preview of the chosen image. */
function addImageUpload(node, combo, ctx) {
  const showPreview = () => {
    if (!ctx.api?.viewUrl || !combo.value) return;
    const [subfolder, filename] = String(combo.value).includes("/")
      ? [String(combo.value).split("/").slice(0, -1).join("/"), String(combo.value).split("/").pop()]
      : ["", String(combo.value)];
    ctx.showImages(node, [ctx.api.viewUrl({ filename, subfolder, type: "input" })]);
  };
  const callback = combo.callback;
  combo.callback = (...args) => { callback?.(...args); showPreview(); };
  const button = node.addWidget("button", "upload", "image", () => {
    const input = document.createElement("input");
    input.type = "file";
    input.accept = "image/*";
    input.onchange = async () => {
      const file = input.files?.[0];
      if (!file || !ctx.api?.uploadImage) return;
      const { name, subfolder } = await ctx.api.uploadImage(file);
      const value = subfolder ? `${subfolder}/${name}` : name;
      if (!combo.options.values.includes(value)) combo.options.values.push(value);
      combo.value = value;
      combo.callback?.(value);
      ctx.changed();
    };
    input.click();
  }, {});
  button.label = "choose file to upload";
  button.value = "image";
  node.onLoomConfigured = showPreview;
  return button;
}

/**
 * Multiline text: a <textarea> kept over the widget's place on the canvas.
 * The editor hides text areas not drawn in the last frame (node off-screen,
 * collapsed or removed). Native undo works inside it. With `markdown`, the
 * rendered text is shown instead until the note is clicked (MarkdownNote).
 */
function addTextArea(node, name, value, ctx, { markdown = false } = {}) {
  const textarea = document.createElement("textarea");
  textarea.className = "loom-textarea";
  textarea.value = value;
  textarea.spellcheck = false;
  textarea.setAttribute("aria-label", name);
  textarea.dataset.node = "";
  textarea.style.display = "none"; // shown when the canvas first draws the widget
  textarea.addEventListener("input", () => ctx.changed());
  textarea.addEventListener("pointerdown", (e) => e.stopPropagation());
  ctx.overlay.appendChild(textarea);
  let preview = null;
  let editing = !markdown;
  if (markdown) {
    preview = document.createElement("div");
    preview.className = "loom-markdown";
    preview.tabIndex = 0;
    preview.setAttribute("aria-label", `${name} (click to edit)`);
    preview.style.display = "none";
    preview.innerHTML = renderMarkdown(value);
    const edit = () => { editing = true; ctx.canvas.setDirty(true); requestAnimationFrame(() => textarea.focus()); };
    preview.addEventListener("click", edit);
    preview.addEventListener("keydown", (e) => { if (e.code === "Enter") edit(); });
    preview.addEventListener("pointerdown", (e) => e.stopPropagation());
    textarea.addEventListener("blur", () => {
      editing = false;
      preview.innerHTML = renderMarkdown(textarea.value);
      ctx.canvas.setDirty(true);
    });
    ctx.overlay.appendChild(preview);
  }
  const widget = {
    type: "customtext",
    name,
    textarea,
    el: null, // the element shown now: the text area, or the rendered preview
    drawnFrame: -1,
    shown: false,
    size: "",
    get value() { return textarea.value; },
    set value(v) {
      textarea.value = v ?? "";
      if (preview) preview.innerHTML = renderMarkdown(textarea.value);
    },
    computeSize(width) { return [width, 100]; },
    /** Place the element over the widget: one transform per frame, sizes only when they change. */
    draw(c, n, width, y) {
      const scale = ctx.canvas.ds.scale;
      const linked = n.inputs?.some((i) => i.widget?.name === name && i.link != null);
      if (scale < 0.4 || n.flags?.collapsed || linked) { widget.hide(); return; }
      const el = editing ? textarea : preview;
      if (el !== widget.el) { widget.hide(); widget.el = el; widget.size = ""; }
      // the view transform is in CSS pixels (LiteGraph applies devicePixelRatio underneath)
      const [x0, y0] = ctx.canvas.ds.convertOffsetToCanvas([n.pos[0] + 10, n.pos[1] + y + 4]);
      const size = `${width - 20}px`;
      if (size !== widget.size) { widget.size = size; el.style.width = size; }
      el.style.transform = `translate(${x0}px, ${y0}px) scale(${scale})`;
      if (!widget.shown) { widget.shown = true; el.style.display = ""; }
      if (el.dataset.node !== String(n.id)) el.dataset.node = String(n.id);
      widget.drawnFrame = ctx.frame();
    },
    hide() {
      if (widget.shown === false || !widget.el) return;
      widget.shown = false;
      widget.el.style.display = "none";
    },
    onRemove() { textarea.remove(); preview?.remove(); },
  };
  ctx.textAreas.add(widget);
  node.addCustomWidget(widget);
  return widget;
}
