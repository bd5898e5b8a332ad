// The page modules' pure logic under `node --test` (no browser): embedded workflows in
// PNG/WebP, preview frames, formats, the unsaved-marker comparison, history states.
import { test } from "node:test";
import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { workflowFromImage, readPngText, readWebpExif } from "../image_metadata.js";
import { parsePreviewFrame } from "../socket.js";
import { isApiFormat, baseName, fileName } from "../formats.js";
import { canonical } from "../tabs.js";
import { historyState } from "../queue_panel.js";
import { normaliseMissing } from "../problems.js";

const WORKFLOW = { nodes: [{ id: 3, type: "KSampler" }], links: [], version: 0.4, extra: { note: "ünï€" } };
const PROMPT = { 3: { class_type: "KSampler", inputs: {} } };

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  return out; // the CRC is left zero: the reader does not check it
}

function png(...chunks) {
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  const header = chunk("IHDR", Buffer.alloc(13));
  return new Blob([Buffer.concat([signature, header, ...chunks, chunk("IEND", Buffer.alloc(0))])]);
}

const tEXt = (key, text) => chunk("tEXt", Buffer.concat([Buffer.from(`${key}\0`, "latin1"), Buffer.from(text, "latin1")]));
const iTXt = (key, text, compressed) => chunk("iTXt", Buffer.concat([
  Buffer.from(`${key}\0`, "latin1"), Buffer.from([compressed ? 1 : 0, 0]), Buffer.from("\0\0"),
  compressed ? deflateSync(Buffer.from(text, "utf8")) : Buffer.from(text, "utf8"),
]));

function exif(entries, little) {
  // TIFF header, one IFD with ASCII entries whose values follow the IFD
  const count = entries.length;
  const ifdSize = 2 + count * 12 + 4;
  const values = entries.map(([, text]) => Buffer.from(`${text}\0`, "utf8"));
  const out = Buffer.alloc(8 + ifdSize + values.reduce((n, v) => n + v.length, 0));
  const u16 = (v, at) => (little ? out.writeUInt16LE(v, at) : out.writeUInt16BE(v, at));
  const u32 = (v, at) => (little ? out.writeUInt32LE(v, at) : out.writeUInt32BE(v, at));
  out.write(little ? "II" : "MM", 0, "latin1");
  u16(42, 2);
  u32(8, 4);
  u16(count, 8);
  let valueAt = 8 + ifdSize;
  entries.forEach(([tag], i) => {
    const at = 10 + i * 12;
    u16(tag, at);
    u16(2, at + 2);
    u32(values[i].length, at + 4);
    u32(valueAt, at + 8);
    values[i].copy(out, valueAt);
    valueAt += values[i].length;
  });
  return out;
}

function webp(exifBytes) {
  const vp8 = Buffer.concat([Buffer.from("VP8L"), Buffer.from([5, 0, 0, 0]), Buffer.alloc(6)]);
  const exifChunk = Buffer.concat([Buffer.from("EXIF"), Buffer.alloc(4), exifBytes, Buffer.alloc(exifBytes.length % 2)]);
  exifChunk.writeUInt32LE(exifBytes.length, 4);
  const body = Buffer.concat([Buffer.from("WEBP"), vp8, exifChunk]);
  const header = Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4)]);
  header.writeUInt32LE(body.length, 4);
  return new Blob([Buffer.concat([header, body])]);
}

test("a PNG's workflow text chunk wins over its prompt", async () => {
  const file = png(tEXt("prompt", JSON.stringify(PROMPT)), tEXt("workflow", JSON.stringify({ ...WORKFLOW, extra: {} })));
  assert.deepEqual(await workflowFromImage(file), { workflow: { ...WORKFLOW, extra: {} } });
});

test("iTXt chunks, plain and compressed, are read as UTF-8", async () => {
  for (const compressed of [false, true]) {
    const file = png(iTXt("workflow", JSON.stringify(WORKFLOW), compressed));
    assert.deepEqual(await workflowFromImage(file), { workflow: WORKFLOW });
  }
});

test("a PNG with only a prompt gives the prompt; one with neither gives null", async () => {
  assert.deepEqual(await workflowFromImage(png(tEXt("prompt", JSON.stringify(PROMPT)))), { prompt: PROMPT });
  assert.equal(await workflowFromImage(png(tEXt("parameters", "a1111 text"))), null);
  assert.equal(await workflowFromImage(png(tEXt("workflow", "{not json"))), null);
});

test("WebP EXIF entries 'workflow:' and 'prompt:' in both byte orders, with or without the Exif prefix", async () => {
  for (const little of [true, false]) {
    for (const prefix of [Buffer.alloc(0), Buffer.from("Exif\0\0", "latin1")]) {
      const bytes = Buffer.concat([prefix, exif([[0x010f, `workflow:${JSON.stringify(WORKFLOW)}`],
        [0x0110, `prompt:${JSON.stringify(PROMPT)}`]], little)]);
      assert.deepEqual(await workflowFromImage(webp(bytes)), { workflow: WORKFLOW });
    }
  }
  const promptOnly = exif([[0x0110, `prompt:${JSON.stringify(PROMPT)}`]], true);
  assert.deepEqual(await workflowFromImage(webp(promptOnly)), { prompt: PROMPT });
});

test("other files are not read as images", async () => {
  const json = new Blob([JSON.stringify(WORKFLOW)]);
  assert.equal(await readPngText(await json.arrayBuffer()), null);
  assert.equal(readWebpExif(await json.arrayBuffer()), null);
  assert.equal(await workflowFromImage(json), null);
});

test("binary preview frames: type 1, and type 4 with metadata", async () => {
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), Buffer.from("PNGDATA")]);
  const { blob, metadata } = parsePreviewFrame(frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.length));
  assert.equal(blob.type, "image/png");
  assert.equal(await blob.text(), "PNGDATA");
  assert.equal(metadata, null);
  const meta = Buffer.from(JSON.stringify({ node_id: "3", prompt_id: "p", image_type: "image/jpeg" }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(meta.length);
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 4]), length, meta, Buffer.from("JPEGDATA")]);
  const withMeta = parsePreviewFrame(framed.buffer.slice(framed.byteOffset, framed.byteOffset + framed.length));
  assert.deepEqual(withMeta.metadata, { node_id: "3", prompt_id: "p", image_type: "image/jpeg" });
  assert.equal(withMeta.blob.type, "image/jpeg");
  assert.equal(await withMeta.blob.text(), "JPEGDATA");
  const other = Buffer.from([0, 0, 0, 2, 0, 0, 0, 1, 1]);
  assert.equal(parsePreviewFrame(other.buffer.slice(other.byteOffset, other.byteOffset + other.length)), null);
});

test("API format is told from UI format", () => {
  assert.equal(isApiFormat(PROMPT), true);
  assert.equal(isApiFormat(WORKFLOW), false);
  assert.equal(isApiFormat({}), false);
  assert.equal(isApiFormat([PROMPT[3]]), false);
  assert.equal(isApiFormat({ 1: { class_type: "A" }, 2: "x" }), false);
});

test("file names", () => {
  assert.equal(baseName("workflows/sub/my flow.json"), "my flow");
  assert.equal(fileName("a/b:c"), "a_b_c.json");
  assert.equal(fileName("keep.JSON"), "keep.JSON");
});

test("the unsaved comparison ignores the view only", () => {
  const a = { ...WORKFLOW, extra: { ds: { scale: 1, offset: [0, 0] }, note: "x" } };
  const b = { ...WORKFLOW, extra: { ds: { scale: 2, offset: [5, 5] }, note: "x" } };
  assert.equal(canonical(a), canonical(b));
  assert.notEqual(canonical(a), canonical({ ...b, extra: { note: "y" } }));
  assert.equal(a.extra.ds.scale, 1);
});

test("history entries are done, failed or interrupted", () => {
  assert.equal(historyState({ status: { status_str: "success", messages: [] } }), "done");
  assert.equal(historyState({ status: { status_str: "error", messages: [["execution_error", {}]] } }), "failed");
  assert.equal(historyState({ status: { status_str: "error", messages: [["execution_interrupted", {}]] } }), "interrupted");
});

test("missing node lists from the editor and from the server read the same", () => {
  const fromEditor = normaliseMissing([{ type: "X", ids: [4, 7] }]);
  const fromServer = normaliseMissing([{ class_type: "X", count: 2, nodes: [{ id: 4, title: "a" }, { id: 7, title: "b" }] }]);
  assert.deepEqual(fromEditor, fromServer);
});

test("the $el shim parses tag, classes and id, and takes props or children", async () => {
  const made = [];
  globalThis.Node = class {};
  globalThis.document = {
    createElement(tag) {
      const element = {
        tag, id: "", style: {}, dataset: {}, children: [], classList: { names: [], add(...n) { this.names.push(...n); } },
        append(child) { this.children.push(child); },
      };
      made.push(element);
      return element;
    },
  };
  const { $el } = await import("../../scripts/ui.js");
  const parent = { append(child) { this.child = child; } };
  let seen = null;
  const element = $el("button.primary.big#go", { textContent: "Go", style: { color: "red" }, parent, $: (e) => { seen = e; } }, ["!"]);
  assert.equal(element.tag, "button");
  assert.deepEqual(element.classList.names, ["primary", "big"]);
  assert.equal(element.id, "go");
  assert.equal(element.textContent, "Go");
  assert.equal(element.style.color, "red");
  assert.deepEqual(element.children, ["!"]);
  assert.equal(parent.child, element);
  assert.equal(seen, element);
  const plain = $el("span", ["a", "b"]);
  assert.equal(plain.tag, "span");
  assert.deepEqual(plain.children, ["a", "b"]);
  assert.equal($el("div#only").id, "only");
  delete globalThis.document;
  delete globalThis.Node;
});
