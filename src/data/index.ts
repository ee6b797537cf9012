/** The data layer: read and validate files into RawChunks, and operate on them. */
export { readChunks, readAll, DEFAULT_CHUNK_ROWS } from './reader.js';
export type { ReadOptions, ReadStats, ChunkStream, SkippedRow } from './reader.js';
export { concatChunks, sliceChunk, takeRows, emptyRawChunk } from './chunks.js';
export { rowsToRawChunk } from './rows.js';
export type { CellValue, RowsOptions } from './rows.js';
export { validateSchema } from './validate-schema.js';
export { detectFormat } from './format.js';
export type { FileFormat } from './format.js';
