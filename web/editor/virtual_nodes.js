/**
 * Frontend-only nodes (never sent to the server as nodes): Reroute,
 * PrimitiveNode, Note, MarkdownNote, and placeholders for node types that are
 * not installed (they keep their saved data verbatim).
 */
import { addSchemaWidget } from "./widgets.js";

/** Search entries for the virtual nodes, shaped like /object_info definitions. */
export const VIRTUAL_DEFS = [
  { name: "Reroute", display_name: "Reroute", category: "utils", input: { required: { "": ["*"] } }, output: ["*"], description: "Passes a link through, to tidy the wiring." },
  { name: "PrimitiveNode", display_name: "Primitive", category: "utils", input: {}, output: ["*"], description: "One value that drives the widget inputs it is linked to." },
  { name: "Note", display_name: "Note", category: "utils", input: {}, output: [], description: "A text note." },
  { name: "MarkdownNote", display_name: "Markdown Note", category: "utils", input: {}, output: [], description: "A note written in Markdown." },
];

const clone = (v) => JSON.parse(JSON.stringify(v));

export function registerVirtualNodes(lib, ctx) {
  const { LiteGraph, LGraphNode } = lib;

  class Reroute extends LGraphNode {
    static title = "Reroute";
    static category = "utils";
    constructor(title) {
      super(title ?? "Reroute");
      this.isVirtualNode = true;
      this.addInput("", "*");
      this.addOutput("", "*");
      this.size = [75, 26];
      this.serialize_widgets = true;
    }
    /** The output takes the type of what feeds the input. */
    onConnectionsChange() {
      const link = this.inputs[0].link != null ? this.graph?._links.get(this.inputs[0].link) : null;
      const type = link ? (this.graph.getNodeById(link.origin_id)?.outputs[link.origin_slot]?.type ?? "*") : "*";
      this.outputs[0].type = type;
      this.outputs[0].label = type === "*" ? "" : type;
    }
  }

  class Note extends LGraphNode {
    static title = "Note";
    static category = "utils";
    constructor(title) {
      super(title ?? "Note");
      this.isVirtualNode = true;
      this.serialize_widgets = true;
      this.color = "#432";
      this.bgcolor = "#653";
      addSchemaWidget(this, "text", "STRING", { multiline: true, default: "", markdown: this.constructor.markdown }, ctx);
      this.size = [400, 160];
    }
    onRemoved() { for (const w of this.widgets ?? []) w.onRemove?.(); }
  }
  class MarkdownNote extends Note {
    static title = "Markdown Note";
    static markdown = true;
  }

  class PrimitiveNode extends LGraphNode {
    static title = "Primitive";
    static category = "utils";
    constructor(title) {
      super(title ?? "Primitive");
      this.isVirtualNode = true;
      this.serialize_widgets = true;
      this.addOutput("connect to widget input", "*");
      this.size = [220, 60];
    }
    onRemoved() { for (const w of this.widgets ?? []) w.onRemove?.(); }
    /** First widget input this node drives: [node, input]. */
    targets() {
      const out = [];
      for (const id of this.outputs[0].links ?? []) {
        const link = this.graph?._links.get(id);
        const node = link && this.graph.getNodeById(link.target_id);
        const input = node?.inputs[link.target_slot];
        if (input?.widget) out.push([node, input]);
      }
      return out;
    }
    /** Adopt the type and a copy of the widget of the first target. */
    adopt(values) {
      const [first] = this.targets();
      if (!first || this.widgets?.length) return;
      const [node, input] = first;
      const source = node.widgets?.find((w) => w.name === input.widget.name);
      if (!source) return;
      this.outputs[0].type = input.type;
      this.outputs[0].name = input.type;
      this.outputs[0].widget = { name: input.widget.name };
      const type = source.type === "number" ? (source.options.precision ? "FLOAT" : "INT")
        : source.type === "combo" ? "COMBO" : source.type === "toggle" ? "BOOLEAN" : "STRING";
      const opts = { ...source.options, default: source.value, multiline: source.type === "customtext", __choices: source.options?.values };
      if (input.widget.name === "seed" || input.widget.name === "noise_seed" || source.linkedWidgets) opts.control_after_generate = true;
      addSchemaWidget(this, "value", type, opts, ctx);
      if (values) values.forEach((v, i) => { if (this.widgets[i]) this.widgets[i].value = v; });
      this.setSize([Math.max(this.size[0], 220), this.computeSize()[1]]);
      this.push();
    }
    /** Write the value into the targets' widgets (what the server receives). */
    push() {
      const value = this.widgets?.[0]?.value;
      if (value === undefined) return;
      for (const [node, input] of this.targets()) {
        const widget = node.widgets?.find((w) => w.name === input.widget.name);
        if (widget) widget.value = value;
      }
    }
    onWidgetChanged() { this.push(); }
    onConnectionsChange() {
      if (!this.graph || this.loading) return;
      if (!this.outputs[0].links?.length && this.widgets?.length) {
        for (const w of this.widgets) w.onRemove?.();
        this.widgets.length = 0;
        this.outputs[0].type = "*";
        this.outputs[0].name = "connect to widget input";
        delete this.outputs[0].widget;
      } else {
        this.adopt();
      }
    }
    onConfigure(info) { this.savedValues = info.widgets_values; }
    onLoomAfterLoad() { this.adopt(this.savedValues); }
  }

  LiteGraph.registerNodeType("Reroute", Reroute);
  LiteGraph.registerNodeType("Note", Note);
  LiteGraph.registerNodeType("MarkdownNote", MarkdownNote);
  LiteGraph.registerNodeType("PrimitiveNode", PrimitiveNode);
}

/** A stand-in for a node type that is not installed: drawn red, saved exactly as loaded. */
export function registerPlaceholder(lib, type, note = `not installed: ${type}`, title = type) {
  const { LiteGraph, LGraphNode } = lib;
  class Missing extends LGraphNode {
    static title = title;
    static missing = true;
    static skip_list = true; // not offered in LiteGraph's add-node menu
    constructor(name) { super(name ?? title); this.isMissing = true; }
    onConfigure(info) { this.raw = clone(info); }
    serialize() {
      const o = super.serialize();
      const raw = this.raw ?? {};
      return { ...raw, ...o, widgets_values: raw.widgets_values, properties: { ...(raw.properties ?? {}), ...(o.properties ?? {}) } };
    }
    onDrawForeground(c) {
      c.save();
      c.strokeStyle = "#f44";
      c.lineWidth = 2;
      c.strokeRect(-1, -LiteGraph.NODE_TITLE_HEIGHT - 1, this.size[0] + 2, this.size[1] + LiteGraph.NODE_TITLE_HEIGHT + 2);
      c.fillStyle = "#f88";
      c.font = "12px sans-serif";
      c.fillText(note, 8, this.size[1] - 8);
      c.restore();
    }
  }
  LiteGraph.registerNodeType(type, Missing);
}
