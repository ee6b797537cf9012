export { exportOnnx, writeExport, exportSequences, EXPORT_FORMAT_VERSION } from './export-model.js';
export type { ExportOptions, ExportResult } from './export-model.js';
export { exportInputs } from './inputs.js';
export type { ExportInput } from './inputs.js';
export { exportFeeds } from './feeds.js';
export type { ExportFeed } from './feeds.js';
