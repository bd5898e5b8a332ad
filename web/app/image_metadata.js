// Workflows embedded in images, read as ComfyUI writes them:
// PNG text chunks (tEXt, iTXt, zTXt) named "workflow" / "prompt", and WebP EXIF
// ASCII entries whose value is "workflow:{json}" / "prompt:{json}".

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function indexOfZero(bytes, from) {
  for (let i = from; i < bytes.length; i++) if (bytes[i] === 0) return i;
  return -1;
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

async function readTextChunk(type, data) {
  const end = indexOfZero(data, 0);
  if (end < 0) return null;
  const key = latin1.decode(data.subarray(0, end));
  if (type === "tEXt") return [key, latin1.decode(data.subarray(end + 1))];
  if (type === "zTXt") return [key, latin1.decode(await inflate(data.subarray(end + 2)))];
  // iTXt: keyword\0 flag method language\0 translated\0 text
  const compressed = data[end + 1] === 1;
  const languageEnd = indexOfZero(data, end + 3);
  const translatedEnd = languageEnd < 0 ? -1 : indexOfZero(data, languageEnd + 1);
  if (translatedEnd < 0) return null;
  const text = data.subarray(translatedEnd + 1);
  return [key, utf8.decode(compressed ? await inflate(text) : text)];
}

export async function readPngText(buffer) {
  const bytes = new Uint8Array(buffer);
  if (!PNG_SIGNATURE.every((value, i) => bytes[i] === value)) return null;
  const view = new DataView(buffer);
  const texts = {};
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = latin1.decode(bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "tEXt" || type === "iTXt" || type === "zTXt") {
      const entry = await readTextChunk(type, data).catch(() => null);
      if (entry) texts[entry[0]] = entry[1];
    }
    if (type === "IEND") break;
    offset += 12 + length;
  }
  return texts;
}

function readExifAscii(bytes) {
  let start = 0;
  if (latin1.decode(bytes.subarray(0, 6)) === "Exif\0\0") start = 6;
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, bytes.byteLength - start);
  const order = latin1.decode(bytes.subarray(start, start + 2));
  if (order !== "II" && order !== "MM") return {};
  const little = order === "II";
  const texts = {};
  const ifd = view.getUint32(4, little);
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > view.byteLength) break;
    const type = view.getUint16(entry + 2, little);
    const length = view.getUint32(entry + 4, little);
    if (type !== 2) continue;
    const at = length > 4 ? view.getUint32(entry + 8, little) : entry + 8;
    let value = utf8.decode(new Uint8Array(view.buffer, view.byteOffset + at, Math.min(length, view.byteLength - at)));
    value = value.replace(/\0+$/, "");
    const colon = value.indexOf(":");
    if (colon > 0) texts[value.slice(0, colon)] = value.slice(colon + 1);
  }
  return texts;
}

export function readWebpExif(buffer) {
  const bytes = new Uint8Array(buffer);
  if (latin1.decode(bytes.subarray(0, 4)) !== "RIFF" || latin1.decode(bytes.subarray(8, 12)) !== "WEBP") return null;
  const view = new DataView(buffer);
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const type = latin1.decode(bytes.subarray(offset, offset + 4));
    const length = view.getUint32(offset + 4, true);
    if (type === "EXIF") return readExifAscii(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length + (length % 2);
  }
  return {};
}

function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// -> {workflow} (UI form), {prompt} (API form), or null when the image carries neither.
export async function workflowFromImage(file) {
  const buffer = await file.arrayBuffer();
  const texts = (await readPngText(buffer)) ?? readWebpExif(buffer) ?? {};
  const workflow = texts.workflow && parseJSON(texts.workflow);
  if (workflow && typeof workflow === "object") return { workflow };
  const prompt = texts.prompt && parseJSON(texts.prompt);
  if (prompt && typeof prompt === "object") return { prompt };
  return null;
}
