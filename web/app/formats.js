// Telling workflow formats and file names apart (no DOM, no editor).

// API format: an object whose values are nodes with a class_type (UI format has `nodes`).
export function isApiFormat(data) {
  if (!data || typeof data !== "object" || Array.isArray(data) || Array.isArray(data.nodes)) return false;
  const values = Object.values(data);
  return values.length > 0 && values.every((node) => node && typeof node === "object" && "class_type" in node);
}

// "workflows/sub/my flow.json" -> "my flow"
export function baseName(path) {
  return path.split("/").pop().replace(/\.json$/i, "");
}

// A user's name for a workflow -> a safe file name ending in .json.
export function fileName(name) {
  const clean = name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_").trim();
  return clean.toLowerCase().endsWith(".json") ? clean : `${clean}.json`;
}
