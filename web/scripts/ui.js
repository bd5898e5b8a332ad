// Compatibility shim: ComfyUI extensions do `import { $el } from "../../scripts/ui.js"`.
// $el("tag.class1.class2#id", props?, children?) builds an element: props are set as
// properties (`style` and `dataset` objects merged), `parent` appends the element to
// that node and `$` is called with it; children are nodes or strings.

export function $el(tag, propsOrChildren, maybeChildren) {
  const [name, ...classes] = tag.split(".");
  const [tagName, id] = name.split("#");
  const element = document.createElement(tagName || "div");
  const lastClass = classes.length ? classes[classes.length - 1].split("#") : [];
  if (lastClass.length > 1) classes[classes.length - 1] = lastClass[0];
  if (classes.length) element.classList.add(...classes.filter(Boolean));
  if (id || lastClass[1]) element.id = id || lastClass[1];

  let props = propsOrChildren;
  let children = maybeChildren;
  if (Array.isArray(props) || props instanceof Node || typeof props === "string") {
    children = props;
    props = {};
  }
  const { parent, $: ready, style, dataset, ...rest } = props ?? {};
  if (style) Object.assign(element.style, style);
  if (dataset) Object.assign(element.dataset, dataset);
  Object.assign(element, rest);
  for (const child of [children ?? []].flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  parent?.append(element);
  ready?.(element);
  return element;
}
