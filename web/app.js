// Loom's minimal editor: the workflow's nodes as cards with their widgets, a queue
// button, live progress over the websocket, and the images a run produced.
// It speaks only ComfyUI's HTTP and websocket API, like any other client.

const clientId = crypto.randomUUID();
const $ = (id) => document.getElementById(id);

let catalogue = {};
let workflow = {};

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, body };
}

function inputSpecs(classType) {
  const info = catalogue[classType];
  if (!info) return [];
  const specs = [];
  for (const section of ["required", "optional"]) {
    for (const name of info.input_order?.[section] ?? []) {
      specs.push([name, info.input[section][name]]);
    }
  }
  return specs;
}

function widgetFor(nodeId, name, spec, value) {
  const [type, options = {}] = spec;
  let element;
  if (Array.isArray(type)) {
    element = document.createElement("select");
    for (const choice of type) element.add(new Option(choice, choice));
    element.value = value;
  } else if (type === "INT" || type === "FLOAT") {
    element = document.createElement("input");
    element.type = "number";
    for (const key of ["min", "max", "step"]) if (options[key] !== undefined) element[key] = options[key];
    if (type === "FLOAT" && options.step === undefined) element.step = "any";
    element.value = value;
  } else if (type === "BOOLEAN") {
    element = document.createElement("input");
    element.type = "checkbox";
    element.checked = Boolean(value);
  } else if (type === "STRING") {
    element = document.createElement(options.multiline ? "textarea" : "input");
    element.value = value ?? "";
  } else {
    return null;
  }
  element.name = `${nodeId}.${name}`;
  element.addEventListener("change", () => {
    const inputs = workflow[nodeId].inputs;
    if (type === "INT") inputs[name] = parseInt(element.value, 10);
    else if (type === "FLOAT") inputs[name] = parseFloat(element.value);
    else if (type === "BOOLEAN") inputs[name] = element.checked;
    else inputs[name] = element.value;
  });
  return element;
}

function render() {
  const container = $("nodes");
  container.replaceChildren();
  const ids = Object.keys(workflow).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  for (const id of ids) {
    const node = workflow[id];
    const card = document.createElement("article");
    card.className = "node";
    card.id = `node-${id}`;
    const title = node._meta?.title ?? catalogue[node.class_type]?.display_name ?? node.class_type;
    card.innerHTML = `<h2>${escapeHTML(title)} <small>#${escapeHTML(id)}</small></h2>`;
    for (const [name, spec] of inputSpecs(node.class_type)) {
      const value = node.inputs?.[name];
      const label = document.createElement("label");
      label.textContent = name;
      if (Array.isArray(value)) {
        const link = document.createElement("div");
        link.className = "link";
        link.textContent = `${name} ← #${value[0]}.${value[1]}`;
        card.append(link);
        continue;
      }
      if (value === undefined) continue;
      const widget = widgetFor(id, name, spec, value);
      if (widget) {
        label.append(widget);
        card.append(label);
      }
    }
    const errors = document.createElement("div");
    errors.className = "errors";
    card.append(errors);
    container.append(card);
  }
}

function escapeHTML(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function showMessage(text) {
  $("message").textContent = text ?? "";
}

async function queuePrompt() {
  showMessage("");
  document.querySelectorAll(".node").forEach((n) => n.classList.remove("failed"));
  document.querySelectorAll(".errors").forEach((e) => (e.textContent = ""));
  const { ok, body } = await getJSON("prompt", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ prompt: workflow, client_id: clientId }),
  });
  if (ok) return;
  showMessage(body.error?.message ?? "The server refused the workflow.");
  for (const [id, nodeError] of Object.entries(body.node_errors ?? {})) {
    const card = $(`node-${id}`);
    if (!card) continue;
    card.classList.add("failed");
    card.querySelector(".errors").textContent = nodeError.errors
      .map((e) => `${e.extra_info?.input_name ?? ""} ${e.message}: ${e.details ?? ""}`.trim())
      .join("\n");
  }
}

function onEvent(type, data) {
  if (type === "status") {
    const remaining = data.status?.exec_info?.queue_remaining ?? 0;
    $("status").textContent = `queue: ${remaining}`;
  } else if (type === "executing") {
    document.querySelectorAll(".node.running").forEach((n) => n.classList.remove("running"));
    if (data.node !== null) $(`node-${data.node}`)?.classList.add("running");
  } else if (type === "progress") {
    $("progress").max = data.max;
    $("progress").value = data.value;
  } else if (type === "executed") {
    for (const image of data.output?.images ?? []) {
      const img = document.createElement("img");
      const query = new URLSearchParams({ filename: image.filename, subfolder: image.subfolder ?? "", type: image.type });
      img.src = `view?${query}`;
      img.alt = image.filename;
      $("results").prepend(img);
    }
  } else if (type === "execution_error") {
    $(`node-${data.node_id}`)?.classList.add("failed");
    showMessage(`#${data.node_id} ${data.node_type}: ${data.exception_message}`);
  } else if (type === "execution_interrupted") {
    showMessage("Interrupted.");
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const path = location.pathname.replace(/[^/]*$/, "");
  const socket = new WebSocket(`${scheme}://${location.host}${path}ws?clientId=${clientId}`);
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return; // binary preview frames are not shown here
    const message = JSON.parse(event.data);
    onEvent(message.type, message.data);
  });
  socket.addEventListener("close", () => {
    $("status").textContent = "disconnected; retrying…";
    setTimeout(connect, 1000);
  });
}

async function main() {
  catalogue = (await getJSON("object_info")).body;
  workflow = (await getJSON("default_workflow")).body;
  render();
  connect();
  $("queue").addEventListener("click", queuePrompt);
  $("interrupt").addEventListener("click", () => fetch("interrupt", { method: "POST" }));
  $("save").addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([JSON.stringify(workflow, null, 2)], { type: "application/json" }));
    link.download = "workflow_api.json";
    link.click();
  });
  $("load").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      workflow = JSON.parse(await file.text());
      render();
    } catch (error) {
      showMessage(`Could not read ${file.name}: ${error.message}`);
    }
  });
}

main();
