/** `ali-ccp`: the Parquet file written by `esmm convert ali-ccp` (see ../ali-ccp-fields.ts). */
import { ALI_CCP_FIELDS, aliCcpColumn, aliCcpSchema } from '../ali-ccp-fields.js';
import { sqlString } from '../sql-text.js';
import type { DatasetPreset } from './types.js';

export const aliCcpPreset: DatasetPreset = {
  name: 'ali-ccp',
  description: "Parquet from 'esmm convert ali-ccp' (multi-valued behaviour and cross fields with weights)",
  requiredColumns: ['click', 'buy', ...ALI_CCP_FIELDS.map(aliCcpColumn)],
  source: (file) => `read_parquet(${sqlString(file)})`,
  // No projection: the converter already writes plain columns, so the file is used as it is.
  schema: () => aliCcpSchema(),
};
