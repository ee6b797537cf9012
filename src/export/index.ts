export { exportOnnx, writeExport, exportSequences, featureSpecFileOf, EXPORT_FORMAT_VERSION } from './export-model.js';
export { readExport } from './read-export.js';
export type { ExportedModel } from './read-export.js';
export type { ExportOptions, ExportResult } from './export-model.js';
export { exportInputs } from './inputs.js';
export type { ExportInput } from './inputs.js';
export { exportFeeds } from './feeds.js';
export type { ExportFeed } from './feeds.js';
