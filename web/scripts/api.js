// Compatibility shim: ComfyUI extensions do `import { api } from "../../scripts/api.js"`
// and call api.addEventListener("executed", (event) => event.detail) or api.fetchApi(route).
// This is the one ApiClient the page uses (main.js imports it from here too).
import { ApiClient } from "../app/api.js";

export const api = new ApiClient();
