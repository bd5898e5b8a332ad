// Small DOM helpers shared by the panels: element builder, toasts and modal dialogs.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

// `action`: {label, run} adds a button that runs it and dismisses the toast.
export function toast(message, { kind = "info", timeout = 5000, action = null } = {}) {
  const area = document.getElementById("toasts");
  if (!area) return null;
  const close = h("button", { class: "icon", "aria-label": "Dismiss", title: "Dismiss" }, "×");
  const button = action ? h("button", { class: "small toast-action" }, action.label) : null;
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", { class: "toast-text" }, message), button, close);
  button?.addEventListener("click", () => {
    item.remove();
    action.run();
  });
  close.addEventListener("click", () => item.remove());
  area.append(item);
  while (area.children.length > 4) area.firstElementChild.remove();
  if (timeout) setTimeout(() => item.remove(), timeout);
  return item;
}

// A modal dialog. `buttons` = [{label, value, primary}]; resolves with the chosen
// value, or null when dismissed (Escape). `body` is a string or a node.
export function showDialog({ title, body, buttons = [{ label: "Close", value: true, primary: true }], id, form = null }) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "modal", id, "aria-label": title });
    const actions = h("div", { class: "actions" });
    let result = null;
    for (const button of buttons) {
      const element = h("button", { type: "button", class: button.primary ? "primary" : "" }, button.label);
      element.addEventListener("click", () => {
        result = typeof button.value === "function" ? button.value() : button.value;
        dialog.close();
      });
      actions.append(element);
    }
    const content = typeof body === "string" ? h("p", {}, body) : body;
    dialog.append(h("h2", {}, title), content, actions);
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        actions.querySelector(".primary")?.click();
      });
    }
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    (dialog.querySelector("input, select, textarea") ?? actions.querySelector(".primary"))?.focus();
  });
}

export async function askText({ title, label, value = "", okLabel = "OK" }) {
  const input = h("input", { type: "text", value, "aria-label": label, name: "value" });
  const form = h("form", { class: "ask" }, h("label", {}, label, input));
  const answer = await showDialog({
    title, body: form, form, id: "ask-dialog",
    buttons: [{ label: "Cancel", value: null }, { label: okLabel, value: () => input.value.trim(), primary: true }],
  });
  return answer ? answer : null;
}

export function confirmDialog({ title, message, okLabel = "OK" }) {
  return showDialog({
    title, body: message, id: "confirm-dialog",
    buttons: [{ label: "Cancel", value: false }, { label: okLabel, value: true, primary: true }],
  }).then(Boolean);
}

export function download(filename, text, type = "application/json") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
