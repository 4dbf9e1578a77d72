// The packed low-bit file (format, writer, reader) and the tfjs-format export; browser-safe.
// The Node file helpers (files.ts) are exported from node.ts.
export {
  MAGIC,
  FORMAT_MAJOR,
  FORMAT_MINOR,
  FORMAT_NAME,
  PackedFormatError,
  type PackedHeader,
  type TensorEntry,
  type QuantizedTensorEntry,
  type FloatTensorEntry,
  type Packing,
} from './format.js';
export { crc32 } from './crc32.js';
export {
  packBits,
  unpackBits,
  packTrits,
  unpackTrits,
  packedBitsLength,
  packedTritsLength,
} from './bitpack.js';
export { toFloat16Bits, fromFloat16Bits, encodeFloat16, decodeFloat16 } from './float16.js';
export {
  collectTensors,
  type CollectOptions,
  type QuantizedState,
  type CollectedTensor,
  type QuantizedTensor,
  type FloatTensor,
} from './collect.js';
export { exportQuantized, encodePacked, type ExportOptions } from './writer.js';
export {
  loadQuantized,
  parsePacked,
  decodeTensors,
  describePacked,
  formatPackedDescription,
  isPackedBytes,
  checkTopology,
  readPackedSource,
  sectionSizes,
  type PackedFile,
  type PackedSource,
  type DecodedTensor,
  type PackedDescription,
} from './reader.js';
export {
  exportTfjs,
  uniformGrid,
  type TfjsExport,
  type TfjsExportOptions,
  type TfjsTensorReport,
} from './tfjs-format.js';
export {
  exportOnnx,
  type OnnxExport,
  type OnnxExportOptions,
  type OnnxTensorReport,
} from './onnx.js';
