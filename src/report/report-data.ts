/**
 * Everything a report shows, gathered from a model directory (model.json, metrics.json,
 * history.json, curves.json), optionally a labelled data file (curves recomputed from fresh
 * predictions) and an `esmm compare --json` file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { readAll } from '../data/reader.js';
import { loadModel } from '../models/persist.js';
import { computeCurves, type CurvesData } from './curves.js';
import { TABLE_COLUMNS } from './table.js';

export interface LossSeries {
  task: string;
  /** Mean training loss per epoch. */
  train: (number | null)[];
  /** Validation log loss per epoch (null when not validated). */
  valid: (number | null)[];
  validKey: string | null;
}

export interface ComparisonTable {
  columns: { key: string; title: string }[];
  rows: { model: string; values: (number | null)[] }[];
  evaluatedOn?: string;
}

export interface ReportData {
  title: string;
  generated: string;
  model: { name: string; dir: string; created?: string; evaluatedOn?: string; metrics?: Record<string, number | null> };
  history: { epochs: number[]; losses: LossSeries[]; stepLoss: number[] } | null;
  curves: CurvesData | null;
  /** Where the curves come from: 'training' (curves.json) or the data file. */
  curvesSource: string | null;
  comparison: ComparisonTable | null;
  notes: string[];
}

export interface ReportInputs {
  modelDir: string;
  /** `esmm compare --json` output file, or the same object in memory (`comparison`). */
  compareFile?: string;
  comparison?: { metrics: Record<string, Record<string, number | null>>; evaluatedOn?: string };
  dataFile?: string;
}

export async function gatherReportData(inputs: ReportInputs): Promise<ReportData> {
  const dir = inputs.modelDir;
  const manifest = readJson(join(dir, 'model.json'), true) as { created?: string; config?: { model?: { name?: string } } };
  const metricsFile = readJson(join(dir, 'metrics.json'), false) as { evaluated_on?: string; metrics?: Record<string, number | null> } | undefined;
  const historyFile = readJson(join(dir, 'history.json'), false) as { history?: HistoryRecord[]; step_loss?: number[] } | undefined;
  const notes: string[] = [];

  let curves: CurvesData | null = null;
  let curvesSource: string | null = null;
  if (inputs.dataFile !== undefined) {
    const model = await loadModel(dir);
    try {
      const { data } = await readAll(inputs.dataFile, { schema: model.config.schema });
      const encoded = model.features.transform(data);
      curves = computeCurves(encoded, await model.predictEncoded(encoded), model.config.schema, basename(inputs.dataFile));
      curvesSource = resolve(inputs.dataFile);
    } finally {
      await model.release();
    }
  } else {
    curves = (readJson(join(dir, 'curves.json'), false) as CurvesData | undefined) ?? null;
    if (curves !== null) curvesSource = `the ${curves.split} split at training time`;
    else notes.push('no curves.json in the model directory (trained by an older esmm?): pass --data FILE for ROC and calibration plots');
  }
  if (historyFile === undefined) notes.push('no history.json in the model directory: no loss curves');

  return {
    title: `esmm report: ${manifest.config?.model?.name ?? 'model'}`,
    generated: new Date().toISOString(),
    model: {
      name: manifest.config?.model?.name ?? 'unknown',
      dir: resolve(dir),
      ...(manifest.created !== undefined ? { created: manifest.created } : {}),
      ...(metricsFile?.evaluated_on !== undefined ? { evaluatedOn: metricsFile.evaluated_on } : {}),
      ...(metricsFile?.metrics !== undefined ? { metrics: metricsFile.metrics } : {}),
    },
    history: historyFile === undefined ? null : lossSeries(historyFile.history ?? [], historyFile.step_loss ?? []),
    curves,
    curvesSource,
    comparison: inputs.comparison !== undefined ? comparisonTable(inputs.comparison, '<compare>') : inputs.compareFile !== undefined ? comparisonTable(readJson(inputs.compareFile, true), inputs.compareFile) : null,
    notes,
  };
}

interface HistoryRecord {
  epoch: number;
  train: Record<string, number | null>;
  valid?: Record<string, number | null>;
}

function lossSeries(history: HistoryRecord[], stepLoss: number[]): ReportData['history'] {
  const tasks: string[] = [];
  for (const r of history) for (const k of Object.keys(r.train ?? {})) if (k !== 'loss' && !tasks.includes(k)) tasks.push(k);
  tasks.push('loss');
  const losses = tasks.map((task) => {
    const candidates = task === 'loss' ? [] : [`logloss_${task}`, `logloss_${task}_clicked`];
    const validKey = candidates.find((k) => history.some((r) => typeof r.valid?.[k] === 'number')) ?? null;
    return {
      task,
      train: history.map((r) => num(r.train?.[task])),
      valid: history.map((r) => (validKey === null ? null : num(r.valid?.[validKey]))),
      validKey,
    };
  });
  return { epochs: history.map((r) => r.epoch), losses, stepLoss: stepLoss.map((v) => (Number.isFinite(v) ? v : Number.NaN)) };
}

function comparisonTable(json: unknown, file: string): ComparisonTable {
  // evaluated_on since issue 12; evaluatedOn in files written before.
  const j = (json ?? {}) as { metrics?: unknown; evaluated_on?: string; evaluatedOn?: string };
  const evaluatedOn = j.evaluated_on ?? j.evaluatedOn;
  if (j.metrics === null || typeof j.metrics !== 'object' || Array.isArray(j.metrics)) {
    throw new UserError('expected the output of `esmm compare --json`: {"metrics": {"model": {...}}}', { file, key: 'metrics' });
  }
  const metrics = j.metrics as Record<string, Record<string, number | null>>;
  const models = Object.keys(metrics);
  const extra = ['gauc_ctr', 'logloss_ctr', 'auc_action', 'calibration_ctcvr', 'ece_ctcvr'].map((key) => ({ key, title: key }));
  const columns = [...TABLE_COLUMNS, ...extra].filter((c) => models.some((m) => typeof metrics[m]?.[c.key] === 'number'));
  return {
    columns,
    rows: models.map((model) => ({ model, values: columns.map((c) => num(metrics[model]?.[c.key])) })),
    ...(typeof evaluatedOn === 'string' ? { evaluatedOn } : {}),
  };
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function readJson(path: string, required: boolean): unknown {
  if (!existsSync(path)) {
    if (required) throw new UserError('file not found', { file: path });
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`not valid JSON (${(e as Error).message})`, { file: path });
  }
}
