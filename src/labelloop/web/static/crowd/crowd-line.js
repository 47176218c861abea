// <crowd-line name src header labels label-colors initial-value='[{"label","vertices":[{"x","y"},{"x","y"}]}]'>:
// drag (or click twice) to draw a straight line; drag its ends to adjust (_shapes.js).
// Answer {lines: [{label, vertices: [{x, y}, {x, y}]}], inputImageProperties, initialValueModified?}.
import { define } from './_base.js';
import { ShapeTool } from './_shapes.js';

class Line extends ShapeTool {
  static kind = 'line';
  static answerKey = 'lines';
}

define('crowd-line', Line);
