// <crowd-classifier-multi-select>: like crowd-classifier; keys toggle categories. Answer {labels: [...]}.
import { define } from './_base.js';
import { Classifier } from './crowd-classifier.js';

define('crowd-classifier-multi-select', class extends Classifier { static multi = true; });
