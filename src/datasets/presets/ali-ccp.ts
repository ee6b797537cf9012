/** `ali-ccp`: the Parquet file written by `esmm convert ali-ccp` (see ../ali-ccp-fields.ts). */
import { closeSync, openSync, readSync } from 'node:fs';
import { UserError } from '../../errors.js';
import { ALI_CCP_FIELDS, aliCcpColumn, aliCcpSchema } from '../ali-ccp-fields.js';
import { sqlString } from '../sql-text.js';
import type { DatasetPreset } from './types.js';

/** Whether the file starts with Parquet's magic bytes. */
function isParquet(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return true; // a missing file is reported by the caller
  }
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString('latin1') === 'PAR1';
  } finally {
    closeSync(fd);
  }
}

export const aliCcpPreset: DatasetPreset = {
  name: 'ali-ccp',
  description: "Parquet from 'esmm convert ali-ccp' (multi-valued behaviour and cross fields with weights)",
  requiredColumns: ['click', 'buy', ...ALI_CCP_FIELDS.map(aliCcpColumn)],
  labelColumns: ['click', 'buy'],
  checkFile: (file) => {
    if (!isParquet(file)) {
      throw new UserError(
        "the 'ali-ccp' preset reads the Parquet written by 'esmm convert ali-ccp' and this file is not Parquet: " +
          "convert the raw files first (esmm convert ali-ccp --skeleton F --common F --out F.parquet), or use --preset paddlerec-ali-ccp " +
          'for PaddleRec text files, --preset ali-ccp-csv for the preprocessed CSV',
        { file },
      );
    }
  },
  source: (file) => `read_parquet(${sqlString(file)})`,
  // No projection: the converter already writes plain columns, so the file is used as it is.
  // f101 is the user id: GAUC groups by it.
  schema: () => ({ ...aliCcpSchema(), group: aliCcpColumn('101') }),
};
