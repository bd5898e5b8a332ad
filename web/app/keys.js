// The page's shortcuts (the editor binds the graph's own): Ctrl+Enter queue,
// Ctrl+Shift+Enter queue at the front, Ctrl+Alt+Enter interrupt, Ctrl+S save,
// Ctrl+O open. Keys typed into a text box are left alone, except the queue ones;
// nothing fires while a modal dialog is open.

function inTextBox(target) {
  if (!(target instanceof Element)) return false;
  return target.isContentEditable || target.matches("input, textarea, select");
}

export function bindKeys(target, actions) {
  const handler = (event) => {
    const ctrl = event.ctrlKey || event.metaKey;
    if (!ctrl || document.querySelector("dialog[open]")) return;
    let action = null;
    if (event.code === "Enter" || event.code === "NumpadEnter") {
      if (event.altKey) action = () => actions.interrupt();
      else action = () => actions.queue({ front: event.shiftKey });
    } else if (!inTextBox(event.target) && !event.altKey && !event.shiftKey) {
      if (event.code === "KeyS") action = () => actions.save();
      else if (event.code === "KeyO") action = () => actions.open();
    }
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    action();
  };
  target.addEventListener("keydown", handler, true);
  return () => target.removeEventListener("keydown", handler, true);
}
