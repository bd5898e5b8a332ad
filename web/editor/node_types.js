/**
 * Node classes from GET /object_info: one LGraphNode subclass per schema with
 * typed slots, a widget (and its input socket) per widget-typed input, and
 * descriptions for tooltips.
 */
import { addSchemaWidget } from "./widgets.js";
import { WIDGET_TYPES, typeName } from "./types.js";

/** The inputs of a schema in INPUT_TYPES order: [{name, type, opts, optional}]. */
export function schemaInputs(def) {
  const out = [];
  for (const group of ["required", "optional"]) {
    const specs = def.input?.[group] ?? {};
    const order = def.input_order?.[group] ?? Object.keys(specs);
    for (const name of order) {
      const spec = specs[name];
      if (spec === undefined) continue;
      const [rawType, opts = {}] = Array.isArray(spec) ? spec : [spec, {}];
      const type = typeName(rawType);
      const choices = Array.isArray(rawType) ? rawType : (opts.options ?? null);
      out.push({ name, type, opts: { ...opts, __choices: choices }, optional: group === "optional" });
    }
  }
  return out;
}

/** Is this schema input shown as a widget (rather than only a socket)? */
export function isWidgetInput({ type, opts }) {
  return WIDGET_TYPES.has(type) && !opts.forceInput;
}

/** Build slots and widgets of a fresh node from its schema. */
export function buildNode(node, def, ctx) {
  for (const input of schemaInputs(def)) {
    const label = input.opts.display_name;
    if (isWidgetInput(input)) {
      const widget = addSchemaWidget(node, input.name, input.type, input.opts, ctx);
      const slot = node.addInput(input.name, input.type, { widget: { name: input.name } });
      if (label) { slot.label = label; widget.label = label; }
      slot.tooltip = input.opts.tooltip;
    } else {
      const slot = node.addInput(input.name, input.type, input.optional ? { shape: 7 } : undefined);
      if (label) slot.label = label;
      slot.tooltip = input.opts.tooltip;
    }
  }
  (def.output ?? []).forEach((type, i) => {
    const slot = node.addOutput(def.output_name?.[i] ?? type, typeName(type));
    slot.tooltip = def.output_tooltips?.[i];
    if (def.output_is_list?.[i]) slot.shape = 6;
  });
}

/** Add widget sockets that an older saved workflow lacks (inputs are replaced on configure). */
export function ensureWidgetInputs(node) {
  for (const widget of node.widgets ?? []) {
    if (widget.name === "control_after_generate" || widget.type === "button") continue;
    if (node.inputs?.some((i) => i.widget?.name === widget.name || i.name === widget.name)) continue;
    node.addInput(widget.name, widget.type === "number" ? (widget.options.precision ? "FLOAT" : "INT")
      : widget.type === "toggle" ? "BOOLEAN" : widget.type === "combo" ? "COMBO" : "STRING", { widget: { name: widget.name } });
  }
}

/**
 * Register one class per schema with LiteGraph; `hooks.beforeRegisterNodeDef`
 * is awaited for each before registration so extensions can patch the class.
 */
export async function registerNodeTypes(lib, objectInfo, hooks, ctx) {
  const { LiteGraph, LGraphNode } = lib;
  for (const [name, def] of Object.entries(objectInfo)) {
    const nodeType = class extends LGraphNode {
      static comfyClass = name;
      static title = def.display_name || name;
      static category = def.category || "uncategorized";
      static nodeData = def;
      constructor(title) {
        super(title ?? nodeType.title);
        this.comfyClass = name;
        this.serialize_widgets = true;
        this.description = def.description;
        // LiteGraph re-measures the node after every slot and widget; measure once at the end instead
        this.expandToFitContent = () => {};
        try {
          buildNode(this, def, ctx);
        } finally {
          delete this.expandToFitContent;
        }
        this.properties ??= {};
        this.properties["Node name for S&R"] = name;
        const size = this.computeSize();
        this.setSize([Math.max(size[0], 220), size[1]]);
      }
      /**
       * Saved inputs replace the built ones: LiteGraph would merge them index by index, which
       * mixes up files that list only linked inputs (older ComfyUI) with our widget sockets.
       */
      configure(info) {
        if (Array.isArray(info?.inputs)) this.inputs = [];
        super.configure(info);
      }
      onConfigure() { ensureWidgetInputs(this); this.onLoomConfigured?.(); }
      onRemoved() { for (const w of this.widgets ?? []) w.onRemove?.(); }
    };
    nodeType.description = def.description;
    if (hooks.beforeRegisterNodeDef) await hooks.beforeRegisterNodeDef(nodeType, def);
    // after the extensions' patches, so that one replacing onNodeCreated cannot drop the hook
    const own = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function onNodeCreated(...args) {
      const result = own?.apply(this, args);
      hooks.nodeCreated?.(this);
      return result;
    };
    LiteGraph.registerNodeType(name, nodeType);
  }
}
