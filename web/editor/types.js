/** Slot types: which output may feed which input, and the colour of each type. */

/** ComfyUI's usual type colours (links and slots), dark-theme friendly. */
export const TYPE_COLORS = {
  MODEL: "#B39DDB", CLIP: "#FFD500", VAE: "#FF6E6E", CONDITIONING: "#FFA931",
  LATENT: "#FF9CF9", IMAGE: "#64B5F6", MASK: "#81C784", CONTROL_NET: "#00D78D",
  CLIP_VISION: "#A8DADC", CLIP_VISION_OUTPUT: "#ad7452", STYLE_MODEL: "#C2FFAE",
  UPSCALE_MODEL: "#7E57C2", INT: "#7DD3A8", FLOAT: "#AAEE88", STRING: "#77AAEE",
  BOOLEAN: "#D9534F", COMBO: "#8AB4F8", NOISE: "#B0B0B0", SAMPLER: "#ECB4B4",
  SIGMAS: "#CDFFCD", GUIDER: "#66FFFF",
};

/** Input types that become widgets (a list of choices is a COMBO). */
export const WIDGET_TYPES = new Set(["INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"]);

/** The name of a schema type: arrays (choice lists) are COMBO. */
export function typeName(type) {
  return Array.isArray(type) ? "COMBO" : String(type ?? "*");
}

function isAny(type) {
  return type === "*" || type === "" || type === 0 || type == null;
}

/**
 * True when an output of type `out` may connect to an input of type `input`.
 * "*" matches anything, "A,B" lists alternatives, a COMBO input accepts any
 * COMBO output (primitives); names compare case-sensitively as in ComfyUI.
 */
export function isCompatible(out, input) {
  if (isAny(out) || isAny(input)) return true;
  const outs = typeName(out).split(",").map((t) => t.trim());
  const ins = typeName(input).split(",").map((t) => t.trim());
  for (const a of outs) {
    for (const b of ins) {
      if (a === b || a === "*" || b === "*") return true;
    }
  }
  return false;
}

/** Colour for a type; a hash-derived colour for unknown types so they stay distinct. */
export function typeColor(type) {
  const name = typeName(type);
  if (TYPE_COLORS[name]) return TYPE_COLORS[name];
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return `hsl(${Math.abs(hash) % 360}, 55%, 65%)`;
}
