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

function firstNodeError(nodeErrors) {
  for (const [id, entry] of Object.entries(nodeErrors ?? {})) {
    const error = entry?.errors?.[0];
    if (error) {
      const input = error.extra_info?.input_name ? ` (${error.extra_info.input_name})` : "";
      return `${entry.class_type ?? "node"} #${id}${input}: ${error.details || error.message}`;
    }
  }
  return "";
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
  const detail = firstNodeError(nodeErrors);
  const message = info.message ?? error?.message ?? "the workflow could not be queued";
  toast(detail ? `${message}: ${detail}` : message, { kind: "error", timeout: 12000 });
}
