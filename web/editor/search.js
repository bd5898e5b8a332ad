/**
 * Fuzzy node search: a pure ranking over node definitions (the /object_info
 * entries plus the editor's virtual nodes). Matches on display name and name
 * weigh most, then category, then input/output type names.
 */
import { isCompatible, typeName } from "./types.js";

/** Score one field against the query; 0 means no match. */
export function fieldScore(query, text) {
  if (!text) return 0;
  const q = query.toLowerCase();
  const t = String(text).toLowerCase();
  if (!q) return 1;
  if (t === q) return 100;
  if (t.startsWith(q)) return 80 - Math.min(20, t.length - q.length) / 2;
  const words = String(text).split(/[\s_\-/.()]+|(?<=[a-z])(?=[A-Z])/).map((w) => w.toLowerCase());
  if (words.some((w) => w.startsWith(q))) return 60;
  const at = t.indexOf(q);
  if (at >= 0) return 50 - Math.min(10, at / 2);
  // subsequence: every query character in order; tighter spans score higher
  let pos = -1;
  let first = -1;
  for (const ch of q) {
    pos = t.indexOf(ch, pos + 1);
    if (pos < 0) return 0;
    if (first < 0) first = pos;
  }
  const span = pos - first + 1;
  if (span > q.length * 3) return 0; // letters scattered over a long name are no match
  return Math.max(1, 30 * (q.length / span));
}

/** Camel-case aware variant: "KSampler" also matches "ks" via its capitals. */
function nameScore(query, name) {
  const caps = String(name).replace(/[^A-Z0-9]/g, "");
  return Math.max(fieldScore(query, name), caps.length > 1 ? fieldScore(query, caps) * 0.75 : 0);
}

function inputTypes(def) {
  const all = { ...(def.input?.required ?? {}), ...(def.input?.optional ?? {}) };
  return Object.values(all).map((spec) => typeName(Array.isArray(spec) ? spec[0] : spec));
}

/** Does the node fit a dragged link? `filter.input`: type of a dragged output; `filter.output`: of an input. */
export function fitsFilter(def, filter = {}) {
  if (filter.input != null && !inputTypes(def).some((t) => isCompatible(filter.input, t))) return false;
  if (filter.output != null && !(def.output ?? []).some((t) => isCompatible(t, filter.output))) return false;
  return true;
}

/**
 * Rank node definitions for a query. Each query word must match some field;
 * the score sums the best field per word. Returns definitions, best first.
 */
export function rankNodes(query, defs, filter = {}, limit = 50) {
  const words = query.trim().split(/\s+/).filter(Boolean);
  const scored = [];
  for (const def of defs) {
    if (!fitsFilter(def, filter)) continue;
    const types = [...inputTypes(def), ...(def.output ?? []).map(typeName)].join(" ");
    let total = 0;
    for (const word of words) {
      const best = Math.max(
        nameScore(word, def.display_name ?? def.name) * 1.2,
        nameScore(word, def.name) * 1.2,
        fieldScore(word, def.category) * 0.6,
        fieldScore(word, types) * 0.5,
      );
      if (best <= 0) { total = -1; break; }
      total += best;
    }
    if (total < 0) continue;
    if (words.length === 1 && (def.display_name ?? def.name).toLowerCase() === words[0].toLowerCase()) total += 50;
    scored.push({ def, score: total });
  }
  scored.sort((a, b) => b.score - a.score || (a.def.display_name ?? a.def.name).length - (b.def.display_name ?? b.def.name).length
    || String(a.def.name).localeCompare(String(b.def.name)));
  return scored.slice(0, limit).map((s) => s.def);
}
