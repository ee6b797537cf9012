/**
 * esmm's public API, in the order of the workflow:
 *   loadConfig -> loadData -> prepareFeatures -> trainModel -> evaluateModel -> printTable,
 * plus loadModel(dir) and model.predict(rows) for serving.
 */
export { loadConfig, parseConfig, readConfigFile, builtinConfigNames } from './api/load-config.js';
export { presetConfig } from './api/preset-config.js';
export type { PresetFiles } from './api/preset-config.js';
export { readForModel } from './api/read-for-model.js';
export type { EsmmConfig, DataConfig, ModelConfig, TrainConfig, FeaturesConfig, BottomConfig } from './config/types.js';
export { loadData } from './api/load-data.js';
export type { LoadedData } from './api/load-data.js';
export { prepareFeatures } from './api/prepare-features.js';
export type { PreparedFeatures } from './api/prepare-features.js';
export { trainModel } from './api/train-model.js';
export { evaluateModel } from './api/evaluate-model.js';
export { trainAndEvaluate } from './api/pipeline.js';
export { compareModels } from './api/compare.js';
export { tuneModel, DEFAULT_SEARCH_SPACE } from './api/tune.js';
export type { TuneOptions, TuneResult, TrialRecord, TrialSettings, SearchSpace } from './api/tune.js';
export { printTable, metricsJson, tableColumns } from './report/table.js';
export { taskNames, DEFAULT_TASK_NAMES, type TaskNames } from './data/task-names.js';
export { loadModel, saveModel } from './models/persist.js';
export { FunnelModel } from './models/model.js';
export type { Predictions, RowPrediction } from './models/model.js';
export { funnelSpec } from './models/registry.js';
export type { FunnelModelSpec } from './models/funnel-spec.js';
export { evaluatePredictions } from './eval/evaluate.js';
export type { FlatMetrics } from './eval/evaluate.js';
export type { TrainResult } from './train/trainer.js';
export type { EpochRecord } from './train/epoch-record.js';
export type { Schema } from './data/schema.js';
export { UserError } from './errors.js';
export * as metrics from './metrics/index.js';
export { simulate, writeSynth, synthSchema } from './synth/index.js';
export { exportOnnx, writeExport, readExport, exportFeeds, exportInputs } from './export/index.js';
export { startServer, Scorer } from './serve/index.js';
export type { ServerOptions, RunningServer } from './serve/index.js';
export { writeReport } from './report/index.js';
export { convertAliCcp } from './datasets/convert-ali-ccp.js';
export { listPresets, getPreset } from './datasets/presets.js';
export { resolveTrainingConfig } from './api/resolve-config.js';
