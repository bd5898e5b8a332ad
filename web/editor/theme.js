/** Settings that change how the canvas looks: theme, link style, grid snapping. */

const LIGHT = {
  NODE_TITLE_COLOR: "#222", NODE_SELECTED_TITLE_COLOR: "#000", NODE_TEXT_COLOR: "#222",
  NODE_DEFAULT_COLOR: "#c8ccd4", NODE_DEFAULT_BGCOLOR: "#f0f1f4", NODE_DEFAULT_BOXCOLOR: "#888",
  NODE_BOX_OUTLINE_COLOR: "#1a73e8", WIDGET_BGCOLOR: "#ffffff", WIDGET_OUTLINE_COLOR: "#aaa",
  WIDGET_TEXT_COLOR: "#111", WIDGET_SECONDARY_TEXT_COLOR: "#555", LINK_COLOR: "#667",
};
const LINK_MODES = { straight: 0, linear: 1, spline: 2 };

/** A 100 px tile with a 10 px grid, as a data URL (the light theme's canvas background). */
function gridTile(background, line) {
  const tile = document.createElement("canvas");
  tile.width = tile.height = 100;
  const g = tile.getContext("2d");
  g.fillStyle = background;
  g.fillRect(0, 0, 100, 100);
  g.fillStyle = line;
  for (let i = 0; i < 100; i += 10) { g.fillRect(i, 0, 1, 100); g.fillRect(0, i, 100, 1); }
  return tile.toDataURL();
}

export class Theme {
  constructor(LiteGraph, canvas, root) {
    this.LiteGraph = LiteGraph;
    this.canvas = canvas;
    this.root = root;
    this.dark = Object.fromEntries(Object.keys(LIGHT).map((k) => [k, LiteGraph[k]]));
    this.darkBackground = canvas.clear_background_color;
    this.darkImage = canvas.background_image;
  }

  apply(settings = {}) {
    const { LiteGraph, canvas } = this;
    if (settings.theme) {
      const light = settings.theme === "light";
      Object.assign(LiteGraph, light ? LIGHT : this.dark);
      canvas.clear_background_color = light ? "#e8e9ed" : this.darkBackground;
      canvas.background_image = light ? (this.lightImage ??= gridTile("#e8e9ed", "#d2d4da")) : this.darkImage;
      canvas._pattern = undefined; // LiteGraph caches the tile as a pattern
      canvas.node_title_color = LiteGraph.NODE_TITLE_COLOR;
      canvas.default_link_color = LiteGraph.LINK_COLOR;
      this.root.dataset.theme = settings.theme;
    }
    if (settings.linkRenderMode in LINK_MODES) canvas.links_render_mode = LINK_MODES[settings.linkRenderMode];
    if (settings.snapToGrid !== undefined) LiteGraph.alwaysSnapToGrid = Boolean(settings.snapToGrid);
    if (settings.gridSize) LiteGraph.CANVAS_GRID_SIZE = Number(settings.gridSize);
    canvas.setDirty(true, true);
  }
}
