import { test } from "node:test";
import assert from "node:assert/strict";
import { toV04, repairLinks, findMissing, extraKeys, mergeExtraKeys, editKey, tidy } from "../serialize.js";

const node = (id, inputs = 0, outputs = 0, extra = {}) => ({
  id, type: "T", pos: [0, 0], size: [100, 50], flags: {}, order: 0, mode: 0,
  inputs: Array.from({ length: inputs }, (_, i) => ({ name: `in${i}`, type: "X", link: null })),
  outputs: Array.from({ length: outputs }, (_, i) => ({ name: `out${i}`, type: "X", links: [] })),
  ...extra,
});

test("v1 links and state become 0.4 arrays", () => {
  const wf = toV04({ version: 1, state: { lastNodeId: 2, lastLinkId: 1 }, nodes: [node(1, 0, 1), node(2, 1, 0)],
    links: [{ id: 1, origin_id: 1, origin_slot: 0, target_id: 2, target_slot: 0, type: "X" }], reroutes: [{ id: 1 }] });
  assert.equal(wf.version, 0.4);
  assert.deepEqual(wf.links, [[1, 1, 0, 2, 0, "X"]]);
  assert.equal(wf.last_node_id, 2);
  assert.deepEqual(wf.extra.reroutes, [{ id: 1 }]);
  assert.equal(wf.state, undefined);
});

test("dangling, duplicate, stale and out-of-range links are repaired and reported", () => {
  const a = node(1, 0, 1);
  const b = node(2, 2, 0);
  a.outputs[0].links = [1, 9];
  b.inputs[0].link = 1;
  b.inputs[1].link = 7; // stale: link 7 does not exist
  const wf = toV04({ nodes: [a, b], links: [
    [1, 1, 0, 2, 0, "X"],
    [1, 1, 0, 2, 1, "X"], // duplicate id
    [2, 1, 0, 3, 0, "X"], // dangling: node 3 missing
    [3, 1, 5, 2, 1, "X"], // origin slot 5 missing
    [4, 1, 0, 2, 0, "X"], // second link into input 0: the input names link 1
  ], last_link_id: 1 });
  const messages = repairLinks(wf);
  assert.deepEqual(wf.links, [[1, 1, 0, 2, 0, "X"]]);
  assert.equal(wf.nodes[1].inputs[1].link, null);
  assert.deepEqual(wf.nodes[0].outputs[0].links, [1]);
  assert.ok(messages.some((m) => m.includes("duplicate link 1")), messages);
  assert.ok(messages.some((m) => m.includes("link 2") && m.includes("node 3")), messages);
  assert.ok(messages.some((m) => m.includes("link 3") && m.includes("slot 5")), messages);
  assert.ok(messages.some((m) => m.includes("link 4") && m.includes("already has link 1")), messages);
  assert.ok(messages.some((m) => m.includes("input 1 of node 2")), messages);
});

test("a valid workflow needs no repair", () => {
  const a = node(1, 0, 1);
  const b = node(2, 1, 0);
  a.outputs[0].links = [5];
  b.inputs[0].link = 5;
  const wf = toV04({ nodes: [a, b], links: [[5, 1, 0, 2, 0, "X"]], last_node_id: 2, last_link_id: 5 });
  assert.deepEqual(repairLinks(wf), []);
});

test("missing node types are listed with their ids", () => {
  const wf = toV04({ nodes: [node(1), { ...node(2), type: "Foo" }, { ...node(3), type: "Foo" }, { ...node(4), type: "Bar" }] });
  assert.deepEqual(findMissing(wf, (t) => t === "T"), [{ type: "Foo", ids: [2, 3] }, { type: "Bar", ids: [4] }]);
});

test("unknown top-level and node keys and subgraph definitions survive a save", () => {
  const wf = toV04({ nodes: [node(1, 0, 0, { myExt: { a: 1 } })], custom: 7,
    definitions: { subgraphs: [{ id: "sg-1", nodes: [] }] } });
  const kept = extraKeys(wf);
  const saved = mergeExtraKeys({ nodes: [node(1)], links: [], definitions: { subgraphs: [] }, version: 0.4 }, kept);
  assert.equal(saved.custom, 7);
  assert.deepEqual(saved.nodes[0].myExt, { a: 1 });
  assert.deepEqual(saved.definitions.subgraphs, [{ id: "sg-1", nodes: [] }]);
});

test("tidy drops null slot keys but keeps link fields and numbers outputs", () => {
  const wf = { nodes: [{ id: 1, showAdvanced: null, inputs: [{ name: "a", type: "X", label: null, link: null }],
    outputs: [{ name: "b", type: "X", shape: null, links: null, slot_index: null }] }], floatingLinks: [] };
  tidy(wf);
  assert.deepEqual(wf.nodes[0].inputs[0], { name: "a", type: "X", link: null });
  assert.deepEqual(wf.nodes[0].outputs[0], { name: "b", type: "X", links: null, slot_index: 0 });
  assert.equal("floatingLinks" in wf, false);
  assert.equal("showAdvanced" in wf.nodes[0], false);
});

test("the view position is not an edit", () => {
  const a = { nodes: [], extra: { ds: { scale: 1, offset: [0, 0] } } };
  const b = { nodes: [], extra: { ds: { scale: 2, offset: [5, 5] } } };
  assert.equal(editKey(a), editKey(b));
  assert.notEqual(editKey(a), editKey({ nodes: [{ id: 1 }], extra: {} }));
  assert.equal(editKey({ nodes: [{ id: 2, order: 0 }, { id: 1, order: 1 }] }), editKey({ nodes: [{ id: 1, order: 0 }, { id: 2, order: 1 }] }));
});
