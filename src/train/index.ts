// One training run from a config (browser-safe). Node-only file IO for checkpoints and run
// folders lives in ./checkpoint-files.js and ../report/run-folder.js.
export {
  METHODS,
  methodSpec,
  methodsReading,
  rhoScheduleForConfig,
  type MethodSpec,
  type MethodContext,
} from './methods.js';
export {
  fieldWords,
  flagOf,
  type Field,
  type FieldKind,
  type FieldValue,
  type AppliesWhen,
  type CompareList,
  type WebControl,
  type ConfigView,
} from './schema.js';
export {
  TRAIN_FIELDS,
  TRAIN_FIELD_KEYS,
  trainField,
  type TrainFieldKey,
  METHOD_NAMES,
  OPTIMIZER_NAMES,
  LR_SCHEDULE_NAMES,
  DEFAULT_TRAIN_CONFIG,
  ConfigError,
  resolveTrainConfig,
  checkTrainConfig,
  isQuantMethod,
  describeMethod,
  describeGranularity,
  bitsLabel,
  stepsPerEpoch,
  annealSteps,
  type TrainConfig,
  type MethodName,
  type OptimizerName,
  type LrScheduleName,
} from './config.js';
export {
  BUILTIN_MODELS,
  isBuiltinModel,
  modelForConfig,
  checkModelFits,
  lossHead,
  optimizerForConfig,
  wouldQuantizeVariables,
  disposeOptimizer,
  baseOptimizerForConfig,
  proxForConfig,
  lrScheduleForConfig,
  quantGroupsForConfig,
  quantizedVariables,
  type LossHead,
  type RunOptimizer,
  type QuantizedEntry,
  type QatOptimizer,
} from './build.js';
export {
  formatLayerBits,
  layerBitsProblem,
  parseLayerBits,
  resolveLayerBits,
  type LayerBits,
  type LayerBitsEntry,
} from './layer-bits.js';
export { limitDataset, limitSplit, datasetInfo, checkDataset } from './data.js';
export { evaluateModel, type EvalResult, type EvalOptions } from './evaluate.js';
export {
  trainRun,
  type TrainRunOptions,
  type TrainResult,
  type TrainCallbacks,
  type BatchProgress,
  type EpochContext,
  type StepContext,
  type ResumeFrom,
} from './run.js';
export {
  CHECKPOINT_FORMAT,
  captureCheckpoint,
  restoreOptimizer,
  decodeOptimizerWeights,
  type CheckpointState,
  type CheckpointData,
} from './checkpoint.js';
export { checkpointQatOptimizer } from './checkpoint-optimizer.js';
export {
  METRICS_FORMAT,
  describeBackend,
  snapshotEpochs,
  withoutTiming,
  type RunMetrics,
  type EpochRecord,
  type Histogram,
  type HistogramSnapshot,
  type TensorSnapshot,
  type QuantizedTensorInfo,
  type ScheduleCurve,
  type DatasetInfo,
  type RunTiming,
} from './metrics.js';
export { histogram, distinctCount, maxDistinctPerGroup, meanSd } from './stats.js';
export {
  COMPARE_FORMAT,
  expandCompare,
  summarizeCompare,
  compareTable,
  formatMeanSd,
  groupLabel,
  type CompareGrid,
  type CompareCase,
  type CompareRow,
  type CompareSummary,
} from './compare.js';
export { inspectQuantized, estimatePackedBytes } from './inspect.js';
