/** Right-click menus: LiteGraph's own (add node by category, node options) plus Loom's entries. */

export function extendMenus(canvas, actions) {
  const canvasMenu = canvas.getCanvasMenuOptions.bind(canvas);
  canvas.getCanvasMenuOptions = () => [
    { content: "Search nodes… (double-click)", callback: (_v, _o, e) => actions.search(e) },
    { content: "Fit view (.)", callback: () => actions.fitView() },
    { content: "Keyboard shortcuts (?)", callback: () => actions.help() },
    null,
    ...canvasMenu(),
  ];
  const nodeMenu = canvas.getNodeMenuOptions.bind(canvas);
  canvas.getNodeMenuOptions = (node) => [
    { content: node.mode === 2 ? "Unmute (Ctrl+M)" : "Mute (Ctrl+M)", callback: () => actions.setMode([node], 2) },
    { content: node.mode === 4 ? "Un-bypass (Ctrl+B)" : "Bypass (Ctrl+B)", callback: () => actions.setMode([node], 4) },
    null,
    ...nodeMenu(node),
  ];
}
