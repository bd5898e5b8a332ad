// An image without a workflow dropped on the canvas: upload it to the input folder and
// select it in the LoadImage node under the pointer, or in a new LoadImage node there.
import { LiteGraph } from "../vendor/litegraph.es.js";

function imageWidget(node) {
  return node?.widgets?.find((widget) => widget.name === "image" && Array.isArray(widget.options?.values)) ?? null;
}

export async function dropImageAsNode({ api, editor, file, clientX, clientY }) {
  const { name, subfolder } = await api.uploadImage(file);
  const value = subfolder ? `${subfolder}/${name}` : name;
  const { canvas, graph } = editor;
  const [x, y] = canvas.convertEventToCanvasOffset({ clientX, clientY });
  let node = graph.getNodeOnPos(x, y);
  if (!imageWidget(node)) {
    node = LiteGraph.createNode("LoadImage");
    if (!node) throw new Error("LoadImage is not an installed node");
    node.pos = [x, y];
    graph.add(node);
  }
  const widget = imageWidget(node);
  if (!widget.options.values.includes(value)) widget.options.values.push(value);
  widget.value = value;
  widget.callback?.(value, canvas, node);
  editor.checkpoint?.();
  canvas.setDirty(true, true);
  return node;
}
