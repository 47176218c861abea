// <crowd-polyline name src header labels label-colors initial-value='[{"label","vertices":[{"x","y"}]}]'>: click
// vertices, double-click (or Enter) to finish; at least two vertices, which may cross (_shapes.js).
// Answer {polylines: [{label, vertices: [{x, y}, ...]}], inputImageProperties, initialValueModified?}.
import { define } from './_base.js';
import { ShapeTool } from './_shapes.js';

class Polyline extends ShapeTool {
  static kind = 'polyline';
  static answerKey = 'polylines';
}

define('crowd-polyline', Polyline);
