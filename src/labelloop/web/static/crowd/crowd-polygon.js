// <crowd-polygon name src header labels initial-value='[{"label","vertices":[{"x","y"}]}]'>: click vertices, click
// the first one (or double-click, or Enter) to close; drag a vertex or the polygon to adjust (_shapes.js).
// Answer {polygons: [{label, vertices: [{x, y}]}], inputImageProperties, initialValueModified?}.
import { define } from './_base.js';
import { ShapeTool } from './_shapes.js';

class Polygon extends ShapeTool {
  static kind = 'polygon';
  static answerKey = 'polygons';
}

define('crowd-polygon', Polygon);
