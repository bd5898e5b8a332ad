// Telling the user what is wrong with a workflow: missing node types (from
// editor.load or a 400 "missing_node_type"), repaired links, validation errors.
import { h, toast, showDialog } from "./ui.js";

// editor.load gives [{type, ids}], the server [{class_type, count, nodes: [{id, title}]}].
export function normaliseMissing(missing) {
  return (missing ?? []).map((item) => ({
    type: item.type ?? item.class_type,
    ids: item.ids ?? (item.nodes ?? []).map((node) => node.id),
  }));
}

export function showMissing(missing) {
  const items = normaliseMissing(missing);
  if (!items.length) return null;
  const list = h("ul", { class: "missing-list" }, ...items.map(({ type, ids }) =>
    h("li", { dataset: { type } }, h("code", {}, type), " — ",
      ids.length ? `node${ids.length > 1 ? "s" : ""} ${ids.map((id) => `#${id}`).join(", ")}` : "")));
  const body = h("div", {},
    h("p", {}, "This workflow uses node types Loom does not know. They are shown as placeholders; install the custom node packs that provide them and restart Loom."),
    list);
  return showDialog({ title: "Missing node types", body, id: "missing-dialog" });
}

export function reportLoad(report) {
  if (report?.repaired?.length) {
    toast(`Repaired while loading: ${report.repaired.join("; ")}`, { kind: "warning", timeout: 10000 });
  }
  if (report?.missing?.length) showMissing(report.missing);
}

// One line per error: "KSampler #3, input model: Required input is missing".
function nodeErrorLines(nodeErrors, limit = 6) {
  const lines = [];
  for (const [id, entry] of Object.entries(nodeErrors ?? {})) {
    for (const error of entry?.errors ?? []) {
      const input = error.extra_info?.input_name ? `, input ${error.extra_info.input_name}` : "";
      const detail = error.details && error.details !== error.extra_info?.input_name ? `: ${error.details}` : "";
      lines.push(`${entry.class_type ?? "node"} #${id}${input}: ${error.message}${detail}`);
    }
  }
  return lines.length > limit ? [...lines.slice(0, limit), `… and ${lines.length - limit} more`] : lines;
}

// A failed POST /prompt or /workflow/api: mark the nodes and say why.
export function reportPromptError(error, editor) {
  const body = error?.body ?? {};
  const info = body.error ?? {};
  if (info.type === "missing_node_type") {
    showMissing(info.extra_info?.missing);
    return;
  }
  const nodeErrors = body.node_errors ?? {};
  if (Object.keys(nodeErrors).length) editor.setErrors(nodeErrors);
  const lines = nodeErrorLines(nodeErrors);
  const message = info.message ?? error?.message ?? "the workflow could not be queued";
  const details = !lines.length && info.details ? `: ${info.details}` : "";
  const [first] = Object.keys(nodeErrors);
  const action = first === undefined ? null : { label: `Show #${first}`, run: () => showNode(editor, first) };
  toast([message + details, ...lines].join("\n"), { kind: "error", timeout: 12000, action });
}

// Center the canvas on a node ("12", or "12:3" inside a subgraph: its outer node) and select it.
export function showNode(editor, nodeId) {
  const outer = String(nodeId).split(":")[0];
  const node = editor.graph.getNodeById(Number(outer)) ?? editor.graph.getNodeById(outer);
  if (!node) return;
  editor.canvas.centerOnNode(node);
  editor.canvas.selectNode(node);
  editor.canvas.setDirty(true, true);
}
