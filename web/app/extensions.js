// Front-end extensions, ComfyUI-style. Each JS file listed by GET /extensions is
// imported as an ES module; a module registers itself with
// `app.registerExtension({name, init, setup, addCustomNodeDefs, beforeRegisterNodeDef, nodeCreated})`
// where `app` comes from "/scripts/app.js" (the shim re-exports the one ExtensionHost
// the page uses). A hook that throws is logged and skipped: one broken extension
// never stops the editor.

export class ExtensionHost {
  constructor() {
    this.extensions = [];
    this.failed = [];
    this.editor = null;
    this.api = null;
    this.actions = {};
    this.settings = null;
    this.pendingSettings = [];
  }

  // ComfyUI's app.ui.settings, enough for simple extensions; settings added before the
  // page's settings exist are kept until then.
  get ui() {
    return {
      settings: {
        addSetting: (setting) => {
          if (this.settings) this.settings.addSetting(setting);
          else this.pendingSettings.push(setting);
        },
        getSettingValue: (id, fallback) => this.settings?.get(id) ?? fallback,
        setSettingValue: (id, value) => this.settings?.set(id, value),
      },
    };
  }

  attachSettings(settings) {
    this.settings = settings;
    for (const setting of this.pendingSettings.splice(0)) settings.addSetting(setting);
  }

  // Called once by main.js: what extensions can reach through `app`.
  attach({ api, editor = null, actions = {} }) {
    this.api = api;
    this.actions = actions;
    if (editor) this.editor = editor;
  }

  get graph() { return this.editor?.graph ?? null; }
  get canvas() { return this.editor?.canvas ?? null; }

  registerExtension(extension) {
    if (!extension || typeof extension !== "object" || !extension.name) {
      throw new Error("registerExtension needs an object with a name");
    }
    if (this.extensions.some((known) => known.name === extension.name)) {
      throw new Error(`extension '${extension.name}' is already registered`);
    }
    this.extensions.push(extension);
  }

  // Run hook `name` of every extension in registration order, awaiting each.
  async invoke(name, ...args) {
    for (const extension of this.extensions) {
      if (typeof extension[name] !== "function") continue;
      try {
        await extension[name](...args, this);
      } catch (error) {
        console.error(`extension ${extension.name}: ${name} failed`, error);
      }
    }
  }

  // The synchronous form, for hooks called from inside litegraph (nodeCreated).
  invokeSync(name, ...args) {
    for (const extension of this.extensions) {
      if (typeof extension[name] !== "function") continue;
      try {
        extension[name](...args, this);
      } catch (error) {
        console.error(`extension ${extension.name}: ${name} failed`, error);
      }
    }
  }

  // Import every listed module; failures are recorded, not thrown.
  async load(urls) {
    for (const url of urls) {
      try {
        await import(new URL(this.api ? this.api.fileURL(url) : url, window.location.href).href);
      } catch (error) {
        console.error(`extension ${url} failed to load`, error);
        this.failed.push({ url, error: String(error) });
      }
    }
  }

  // Hooks handed to createEditor.
  editorHooks() {
    return {
      beforeRegisterNodeDef: (nodeType, nodeDef) => this.invoke("beforeRegisterNodeDef", nodeType, nodeDef),
      nodeCreated: (node) => this.invokeSync("nodeCreated", node),
    };
  }

  // ComfyUI's app methods that simple extensions call.
  queuePrompt(number = 0, batchCount = 1) {
    return this.actions.queue?.({ front: number === -1, batchCount });
  }

  graphToPrompt() {
    return this.actions.graphToPrompt?.();
  }

  loadGraphData(workflow) {
    return this.actions.openWorkflow?.(workflow);
  }
}
