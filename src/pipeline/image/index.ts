export { type RgbImage, imageFromNchw, nchwFromImage } from './rgb-image.js';
export { encodePng, encodeJpeg } from './encode.js';
export { decodeImage, readImage } from './decode.js';
export { resizeBicubic } from './resize.js';
