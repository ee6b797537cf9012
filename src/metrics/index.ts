export { auc } from './auc.js';
export { gauc, type GaucResult } from './gauc.js';
export { logloss } from './logloss.js';
export { calibration, type CalibrationResult, type CalibrationBin, type Binning } from './calibration.js';
export { topK, type TopKResult } from './topk.js';
export { rocCurve, type RocCurve } from './roc.js';
export { subset, subsetGroups, keptIndices } from './subset.js';
