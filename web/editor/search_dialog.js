/** The node search box: opened by double-click on the canvas or by a link dropped on empty canvas. */
import { rankNodes } from "./search.js";

/**
 * Open the dialog at client position (x, y) inside `root`. `filter` narrows to
 * nodes fitting a dragged link; `onPick(def)` is called with the chosen entry.
 */
export function openSearch(root, { x, y, defs, filter = {}, onPick, title = "" }) {
  root.querySelector(".loom-search")?.remove();
  const box = document.createElement("div");
  box.className = "loom-search";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", "Add a node");
  const input = document.createElement("input");
  input.type = "search";
  input.placeholder = title || "Search nodes…";
  input.setAttribute("aria-label", "Search nodes");
  const list = document.createElement("ul");
  list.setAttribute("role", "listbox");
  box.append(input, list);
  const rootRect = root.getBoundingClientRect();
  box.style.left = `${Math.max(0, Math.min(x - rootRect.left, rootRect.width - 420))}px`;
  box.style.top = `${Math.max(0, Math.min(y - rootRect.top, rootRect.height - 360))}px`;
  root.appendChild(box);

  let results = [];
  let active = 0;
  const close = () => { box.remove(); document.removeEventListener("pointerdown", outside, true); };
  const outside = (e) => { if (!box.contains(e.target)) close(); };
  const pick = (def) => { close(); if (def) onPick(def); };
  const render = () => {
    results = rankNodes(input.value, defs, filter, 40);
    active = Math.min(active, Math.max(0, results.length - 1));
    list.replaceChildren(...results.map((def, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.name = def.name;
      li.setAttribute("aria-selected", String(i === active));
      const name = document.createElement("span");
      name.textContent = def.display_name || def.name;
      const cat = document.createElement("small");
      cat.textContent = `${def.category ?? ""}${def.display_name && def.display_name !== def.name ? ` · ${def.name}` : ""}`;
      li.append(name, cat);
      li.addEventListener("pointerdown", (e) => { e.preventDefault(); pick(def); });
      return li;
    }));
    list.children[active]?.scrollIntoView({ block: "nearest" });
  };
  input.addEventListener("input", () => { active = 0; render(); });
  input.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.code === "ArrowDown") { active = Math.min(active + 1, results.length - 1); render(); e.preventDefault(); }
    else if (e.code === "ArrowUp") { active = Math.max(active - 1, 0); render(); e.preventDefault(); }
    else if (e.code === "Enter" || e.code === "NumpadEnter") { e.preventDefault(); pick(results[active]); }
    else if (e.code === "Escape") { e.preventDefault(); close(); }
  });
  setTimeout(() => document.addEventListener("pointerdown", outside, true), 0);
  render();
  input.focus();
  setTimeout(() => input.focus(), 0); // the canvas takes focus back at the end of its pointer handling
  return { close, input };
}
