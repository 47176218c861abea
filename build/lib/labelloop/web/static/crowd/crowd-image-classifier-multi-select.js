// <crowd-image-classifier-multi-select>: image classifier where keys toggle categories. Answer {labels: [...]}.
import { define } from './_base.js';
import { ImageClassifier } from './crowd-image-classifier.js';

define('crowd-image-classifier-multi-select', class extends ImageClassifier { static multi = true; });
