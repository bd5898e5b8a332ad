/**
 * Workflow JSON in and out, as pure functions: normalise ComfyUI's v1 format to
 * 0.4, repair dangling/duplicate/stale links, list missing node types, and put
 * back on save the keys the graph library does not know about.
 */

const NODE_KEYS = new Set(["id", "type", "pos", "size", "flags", "order", "mode", "inputs", "outputs",
  "properties", "widgets_values", "title", "color", "bgcolor", "boxcolor", "shape", "showAdvanced"]);
const TOP_KEYS = new Set(["last_node_id", "last_link_id", "nodes", "links", "groups", "config", "extra",
  "version", "state", "reroutes", "floatingLinks", "definitions", "id", "revision"]);

const clone = (value) => JSON.parse(JSON.stringify(value));

/** v1 (links as objects, `state`) to 0.4 (links as arrays); 0.4 passes through as a copy. */
export function toV04(workflow) {
  const wf = clone(workflow ?? {});
  wf.nodes ??= [];
  wf.links ??= [];
  if (wf.version === 1 || wf.state) {
    wf.last_node_id = wf.state?.lastNodeId ?? wf.last_node_id;
    wf.last_link_id = wf.state?.lastLinkId ?? wf.last_link_id;
    wf.links = wf.links.map((l) => Array.isArray(l) ? l
      : [l.id, l.origin_id, l.origin_slot, l.target_id, l.target_slot, l.type]);
    if (wf.reroutes) {
      wf.extra = { ...(wf.extra ?? {}), reroutes: wf.reroutes };
      delete wf.reroutes;
    }
    delete wf.state;
  }
  wf.groups ??= [];
  wf.config ??= {};
  wf.extra ??= {};
  wf.version = 0.4;
  return wf;
}

/**
 * Repair the links of a 0.4 workflow in place. A link survives when both its
 * nodes and slots exist and its id is new; an input keeps one link (the one it
 * names if that one is valid); inputs' `link` and outputs' `links` are rebuilt
 * from the surviving links. Returns human-readable messages, one per fix.
 */
export function repairLinks(wf) {
  const messages = [];
  const nodes = new Map(wf.nodes.map((n) => [n.id, n]));
  const seen = new Set();
  const valid = [];
  for (const link of wf.links) {
    if (!Array.isArray(link) || link.length < 5) { messages.push(`dropped malformed link ${JSON.stringify(link)}`); continue; }
    const [id, from, fromSlot, to, toSlot] = link;
    if (seen.has(id)) { messages.push(`dropped duplicate link ${id}`); continue; }
    const origin = nodes.get(from);
    const target = nodes.get(to);
    if (!origin || !target) { messages.push(`dropped link ${id}: node ${origin ? to : from} does not exist`); continue; }
    if (!origin.outputs?.[fromSlot] || !target.inputs?.[toSlot]) {
      messages.push(`dropped link ${id}: slot ${origin.outputs?.[fromSlot] ? toSlot : fromSlot} does not exist`);
      continue;
    }
    seen.add(id);
    valid.push(link);
  }
  // one link per input: prefer the one the input names
  const byInput = new Map();
  for (const link of valid) {
    const key = `${link[3]}:${link[4]}`;
    const named = nodes.get(link[3]).inputs[link[4]].link;
    const prev = byInput.get(key);
    if (!prev) { byInput.set(key, link); continue; }
    const keep = named === link[0] ? link : prev;
    const drop = keep === link ? prev : link;
    byInput.set(key, keep);
    messages.push(`dropped link ${drop[0]}: input ${link[4]} of node ${link[3]} already has link ${keep[0]}`);
  }
  const kept = valid.filter((l) => byInput.get(`${l[3]}:${l[4]}`) === l);
  const outLinks = new Map();
  for (const l of kept) {
    const key = `${l[1]}:${l[2]}`;
    if (!outLinks.has(key)) outLinks.set(key, []);
    outLinks.get(key).push(l[0]);
  }
  for (const node of wf.nodes) {
    for (const [slot, input] of (node.inputs ?? []).entries()) {
      const want = byInput.get(`${node.id}:${slot}`)?.[0] ?? null;
      if ((input.link ?? null) !== want) {
        messages.push(`fixed input ${slot} of node ${node.id}: link ${input.link ?? "none"} -> ${want ?? "none"}`);
        input.link = want;
      }
    }
    for (const [slot, output] of (node.outputs ?? []).entries()) {
      const want = outLinks.get(`${node.id}:${slot}`) ?? [];
      const have = output.links ?? [];
      if (have.length !== want.length || have.some((id, i) => id !== want[i])) {
        if ([...have].sort().join() !== [...want].sort().join()) {
          messages.push(`fixed output ${slot} of node ${node.id}: links [${have}] -> [${want}]`);
        }
        output.links = want;
      }
    }
  }
  wf.links = kept;
  const maxLink = Math.max(0, ...kept.map((l) => Number(l[0]) || 0));
  if (!(wf.last_link_id >= maxLink)) wf.last_link_id = maxLink;
  const maxNode = Math.max(0, ...wf.nodes.map((n) => Number(n.id) || 0));
  if (!(wf.last_node_id >= maxNode)) wf.last_node_id = maxNode;
  return messages;
}

/** Node types used by the workflow that `isKnown(type)` rejects, with their node ids. */
export function findMissing(wf, isKnown) {
  const missing = new Map();
  for (const node of wf.nodes) {
    if (isKnown(node.type)) continue;
    if (!missing.has(node.type)) missing.set(node.type, []);
    missing.get(node.type).push(node.id);
  }
  return [...missing].map(([type, ids]) => ({ type, ids }));
}

/** What the graph library would drop: unknown top-level and per-node keys. */
export function extraKeys(wf) {
  const top = {};
  for (const [k, v] of Object.entries(wf)) if (!TOP_KEYS.has(k)) top[k] = clone(v);
  if (wf.definitions) top.definitions = clone(wf.definitions);
  const nodes = new Map();
  for (const node of wf.nodes) {
    const extra = {};
    for (const [k, v] of Object.entries(node)) if (!NODE_KEYS.has(k)) extra[k] = clone(v);
    if (Object.keys(extra).length) nodes.set(node.id, extra);
  }
  return { top, nodes };
}

/** Merge the kept keys into a freshly serialised 0.4 workflow (in place) and return it. */
export function mergeExtraKeys(wf, kept) {
  tidy(wf);
  for (const [k, v] of Object.entries(kept.top)) if (!(k in wf) || k === "definitions") wf[k] = clone(v);
  for (const node of wf.nodes) {
    const extra = kept.nodes.get(node.id);
    if (extra) for (const [k, v] of Object.entries(extra)) if (!(k in node)) node[k] = clone(v);
  }
  wf.version = 0.4;
  return wf;
}

/**
 * The graph-edit part of a workflow, for change detection: neither the view
 * position nor the drawing order (clicking a node brings it to the front) is an edit.
 * Also the snapshot that undo restores.
 */
export function editKey(wf) {
  const extra = { ...(wf.extra ?? {}) };
  delete extra.ds;
  const nodes = [...(wf.nodes ?? [])].sort((a, b) => (a.id > b.id) - (a.id < b.id))
    .map(({ order, ...node }) => node); // execution order among independent nodes follows drawing order
  return JSON.stringify({ ...wf, nodes, extra });
}

/** Drop the null-valued bookkeeping keys LiteGraph writes on slots and nodes; number the outputs. */
export function tidy(wf) {
  for (const node of wf.nodes) {
    if (node.showAdvanced == null) delete node.showAdvanced;
    for (const input of node.inputs ?? []) {
      for (const [k, v] of Object.entries(input)) if (v == null && k !== "link") delete input[k];
      input.link ??= null;
    }
    for (const [i, output] of (node.outputs ?? []).entries()) {
      for (const [k, v] of Object.entries(output)) if (v == null && k !== "links") delete output[k];
      output.links ??= null;
      output.slot_index = i;
    }
  }
  if (!wf.floatingLinks?.length) delete wf.floatingLinks;
  if (wf.definitions && !wf.definitions.subgraphs?.length && Object.keys(wf.definitions).length <= 1) delete wf.definitions;
  return wf;
}
