import { test } from "node:test";
import assert from "node:assert/strict";
import { schemaInputs, isWidgetInput } from "../node_types.js";
import { outerId } from "../feedback.js";

const def = {
  input: {
    required: { model: ["MODEL"], seed: ["INT", { default: 0, control_after_generate: true }], sampler: [["euler", "ddim"]] },
    optional: { mode: ["COMBO", { options: ["a", "b"] }], count: ["INT", { forceInput: true }], text: ["STRING", { multiline: true }] },
    hidden: { prompt: "PROMPT" },
  },
  input_order: { required: ["model", "sampler", "seed"], optional: ["text", "mode", "count"] },
};

test("schema inputs follow input_order, required first, hidden ones left out", () => {
  assert.deepEqual(schemaInputs(def).map((i) => i.name), ["model", "sampler", "seed", "text", "mode", "count"]);
});

test("widget inputs: INT/FLOAT/STRING/BOOLEAN/COMBO unless forceInput; choice lists are COMBO", () => {
  const inputs = Object.fromEntries(schemaInputs(def).map((i) => [i.name, i]));
  assert.equal(inputs.sampler.type, "COMBO");
  assert.deepEqual(inputs.sampler.opts.__choices, ["euler", "ddim"]);
  assert.deepEqual(inputs.mode.opts.__choices, ["a", "b"]);
  assert.equal(inputs.mode.optional, true);
  assert.deepEqual(Object.values(inputs).filter(isWidgetInput).map((i) => i.name), ["sampler", "seed", "text", "mode"]);
});

test("without input_order the dict order is used", () => {
  const plain = { input: { required: { b: ["INT"], a: ["FLOAT"] } } };
  assert.deepEqual(schemaInputs(plain).map((i) => i.name), ["b", "a"]);
});

test("subgraph node ids mark the outer node", () => {
  assert.equal(outerId("12"), 12);
  assert.equal(outerId("12:3:4"), 12);
  assert.equal(outerId(7), 7);
  assert.equal(outerId("abc"), "abc");
});
