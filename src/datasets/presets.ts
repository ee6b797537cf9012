/** The registry of dataset presets: `--preset NAME` in the CLI, `preset:` in a config. */
import { UserError } from '../errors.js';
import { adultPreset } from './presets/adult.js';
import { aliCcpCsvPreset } from './presets/ali-ccp-csv.js';
import { aliCcpPreset } from './presets/ali-ccp.js';
import { aliexpressPreset } from './presets/aliexpress.js';
import { censusIncomePreset } from './presets/census-income.js';
import { censusIncomeRawPreset } from './presets/census-income-raw.js';
import { paddlerecAliCcpPreset } from './presets/paddlerec-ali-ccp.js';
import { stageLogPreset } from './presets/stage-log.js';
import type { DatasetPreset } from './presets/types.js';

export type { DatasetPreset, RowCheck, SourceColumn } from './presets/types.js';

const PRESETS: readonly DatasetPreset[] = [
  aliCcpPreset,
  aliCcpCsvPreset,
  paddlerecAliCcpPreset,
  aliexpressPreset,
  censusIncomePreset,
  censusIncomeRawPreset,
  adultPreset,
  stageLogPreset,
];

/** All presets, in a stable order. */
export function listPresets(): readonly DatasetPreset[] {
  return PRESETS;
}

/** The preset called `name`; a UserError listing the known names otherwise. */
export function getPreset(name: string): DatasetPreset {
  const preset = PRESETS.find((p) => p.name === name);
  if (preset === undefined) {
    throw new UserError(`unknown dataset preset '${name}' (known: ${PRESETS.map((p) => p.name).join(', ')})`, { key: 'preset' });
  }
  return preset;
}
