// Compatibility shim: ComfyUI extensions do `import { app } from "../../scripts/app.js"`.
// This is the one ExtensionHost the page uses (main.js imports it from here too).
import { ExtensionHost } from "../app/extensions.js";

export const app = new ExtensionHost();
