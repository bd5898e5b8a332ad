import { test } from "node:test";
import assert from "node:assert/strict";
import { UndoStack } from "../undo.js";
import { isCompatible, typeColor } from "../types.js";
import { rankNodes, fieldScore } from "../search.js";
import { nextControlValue, roundValue } from "../widgets.js";
import { actionFor, isTextTarget } from "../keys.js";

test("undo stack: record, undo, redo, branch, limit, replaceCurrent", () => {
  const s = new UndoStack(3);
  s.reset("a");
  assert.equal(s.record("a"), false);
  assert.equal(s.record("b"), true);
  s.record("c");
  assert.equal(s.undo(), "b");
  assert.equal(s.undo(), "a");
  assert.equal(s.undo(), null);
  assert.equal(s.redo(), "b");
  s.record("x"); // a new edit drops the redo branch
  assert.equal(s.canRedo(), false);
  assert.equal(s.undo(), "b");
  s.redo();
  s.record("y"); s.record("z"); s.record("w");
  assert.equal(s.past.length, 3);
  s.replaceCurrent("w2");
  assert.equal(s.current, "w2");
  assert.equal(s.undo(), "z");
  assert.equal(s.redo(), "w2");
});

test("undo stack drops the oldest states when they grow too big", () => {
  const s = new UndoStack(100, 10);
  s.reset("aaaa");
  for (const state of ["bbbb", "cccc", "dddd", "eeee"]) s.record(state);
  assert.deepEqual(s.past, ["cccc", "dddd"]); // 8 chars kept, the oldest dropped
  assert.equal(s.undo(), "dddd");
  assert.equal(s.pastChars, 4);
  assert.equal(s.redo(), "eeee");
  assert.equal(s.pastChars, 8);
});

test("type compatibility follows ComfyUI", () => {
  assert.equal(isCompatible("MODEL", "MODEL"), true);
  assert.equal(isCompatible("MODEL", "CLIP"), false);
  assert.equal(isCompatible("*", "CLIP"), true);
  assert.equal(isCompatible("IMAGE", "*"), true);
  assert.equal(isCompatible("IMAGE,MASK", "MASK"), true);
  assert.equal(isCompatible("LATENT", "IMAGE,MASK"), false);
  assert.equal(isCompatible("INT", "FLOAT"), false);
  assert.equal(isCompatible(["a", "b"], "COMBO"), true);
  assert.equal(isCompatible("image", "IMAGE"), false);
  assert.equal(typeColor("MODEL"), "#B39DDB");
  assert.equal(typeColor("FOO"), typeColor("FOO"));
  assert.notEqual(typeColor("FOO"), typeColor("BAR"));
});

const defs = [
  { name: "KSampler", display_name: "KSampler", category: "sampling", input: { required: { model: ["MODEL"], positive: ["CONDITIONING"], latent_image: ["LATENT"] } }, output: ["LATENT"] },
  { name: "KSamplerAdvanced", display_name: "KSampler (Advanced)", category: "sampling", input: { required: { model: ["MODEL"] } }, output: ["LATENT"] },
  { name: "CheckpointLoaderSimple", display_name: "Load Checkpoint", category: "loaders", input: { required: { ckpt_name: [["a"]] } }, output: ["MODEL", "CLIP", "VAE"] },
  { name: "CLIPTextEncode", display_name: "CLIP Text Encode (Prompt)", category: "conditioning", input: { required: { text: ["STRING"], clip: ["CLIP"] } }, output: ["CONDITIONING"] },
  { name: "VAEDecode", display_name: "VAE Decode", category: "latent", input: { required: { samples: ["LATENT"], vae: ["VAE"] } }, output: ["IMAGE"] },
  { name: "SaveImage", display_name: "Save Image", category: "image", input: { required: { images: ["IMAGE"] } }, output: [] },
  { name: "EmptyLatentImage", display_name: "Empty Latent Image", category: "latent", input: { required: { width: ["INT"] } }, output: ["LATENT"] },
];
const names = (q, f) => rankNodes(q, defs, f).map((d) => d.name);

test("search ranks exact, prefix and fuzzy matches best first", () => {
  assert.equal(names("ksampler")[0], "KSampler");
  assert.equal(names("KSampler")[1], "KSamplerAdvanced");
  assert.equal(names("load checkpoint")[0], "CheckpointLoaderSimple");
  assert.equal(names("ckpt")[0], "CheckpointLoaderSimple"); // fuzzy over the name
  assert.equal(names("vae dec")[0], "VAEDecode");
  assert.equal(names("clip text")[0], "CLIPTextEncode");
  assert.deepEqual(names("zzzz"), []);
  assert.deepEqual(names("ksa"), ["KSampler", "KSamplerAdvanced"]); // a prefix beats initials
  assert.deepEqual(names("decode"), ["VAEDecode"]); // no scattered-letter matches
  assert.ok(names("conditioning").includes("CLIPTextEncode")); // category / output type
  assert.ok(fieldScore("save", "Save Image") > fieldScore("save", "Unsaved things"));
});

test("search filters by a dragged link's type", () => {
  assert.deepEqual(names("", { input: "LATENT" }).sort(), ["KSampler", "VAEDecode"]);
  assert.deepEqual(names("", { output: "CLIP" }), ["CheckpointLoaderSimple"]);
  assert.deepEqual(names("save", { input: "IMAGE" }), ["SaveImage"]);
});

test("control after generate respects min, max and step", () => {
  assert.equal(nextControlValue(5, "fixed", { min: 0, max: 10 }), 5);
  assert.equal(nextControlValue(5, "increment", { min: 0, max: 10 }), 6);
  assert.equal(nextControlValue(10, "increment", { min: 0, max: 10 }), 10);
  assert.equal(nextControlValue(0, "decrement", { min: 0, max: 10 }), 0);
  assert.equal(nextControlValue(4, "decrement", { min: 0, max: 10, step: 2 }), 2);
  for (const r of [0, 0.5, 0.999999]) {
    const v = nextControlValue(0, "randomize", { min: 3, max: 7 }, () => r);
    assert.ok(v >= 3 && v <= 7 && Number.isInteger(v), String(v));
  }
  assert.ok(nextControlValue(0, "randomize", { min: 0, max: 2 ** 64 - 1 }, () => 0.9) > 1e12);
});

test("numbers round to their step and clamp", () => {
  assert.equal(roundValue(7.123, { round: 0.01 }), 7.12);
  assert.equal(roundValue(513, { min: 64, max: 2048, round: 8 }), 512);
  assert.equal(roundValue(5000, { min: 64, max: 2048, round: 8 }), 2048);
  assert.equal(roundValue(-3, { min: 0 }), 0);
});

test("shortcuts are matched by physical key code, not by the typed character", () => {
  const ev = (code, mods = {}) => ({ code, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
  assert.equal(actionFor(ev("KeyZ", { ctrlKey: true, key: "я" })), "undo");
  assert.equal(actionFor(ev("KeyZ", { ctrlKey: true, shiftKey: true })), "redo");
  assert.equal(actionFor(ev("KeyY", { ctrlKey: true })), "redo");
  assert.equal(actionFor(ev("KeyV", { ctrlKey: true, shiftKey: true })), "pasteWithLinks");
  assert.equal(actionFor(ev("KeyC", { altKey: true })), "collapse");
  assert.equal(actionFor(ev("Enter", { ctrlKey: true })), null); // queue belongs to the app shell
  assert.equal(actionFor(ev("Escape")), null);
  assert.equal(actionFor(ev("Slash")), "search");
  assert.equal(actionFor(ev("Slash", { shiftKey: true })), "help");
  assert.equal(isTextTarget({ localName: "textarea" }), true);
  assert.equal(isTextTarget({ localName: "div", isContentEditable: true }), true);
  assert.equal(isTextTarget({ localName: "canvas" }), false);
});
