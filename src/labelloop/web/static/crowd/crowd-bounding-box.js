// <crowd-bounding-box name src header labels='["dog","cat"]' initial-value='[{"label","left","top","width","height"}]'>:
// draw, move, resize, relabel and delete boxes over an image (_shapes.js has the mouse and keys; _canvas.js the
// view). Answer {boundingBoxes: [{label, left, top, width, height}], inputImageProperties: {height, width},
// initialValueModified?} in integer pixels of the image the right way up, as Ground Truth's.
import { define } from './_base.js';
import { ShapeTool } from './_shapes.js';

class BoundingBox extends ShapeTool {
  static kind = 'box';
  static answerKey = 'boundingBoxes';
}

define('crowd-bounding-box', BoundingBox);
