/**
 * Everything a report shows, gathered from a model directory (model.json, metrics.json,
 * history.json, curves.json), optionally a labelled data file (curves recomputed from fresh
 * predictions) and an `esmm compare --json` file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { readForModel } from '../datasets/read-with-preset.js';
import { loadModel } from '../models/persist.js';
import { recoverDir } from '../util/atomic.js';
import { computeCurves, type CurvesData } from './curves.js';
import { tableColumns } from './table.js';
import { evaluatePredictions } from '../eval/evaluate.js';
import type { Schema } from '../data/schema.js';
import { stageNames, taskNames, type TaskNames } from '../data/task-names.js';

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
  /** Training seconds per model, when the comparison recorded them. */
  seconds?: Record<string, number>;
}

/** Config, data sizes, OOV rates and time of the training run (model.json and metrics.json). */
export interface RunFacts {
  config?: unknown;
  rows?: Record<string, number | null>;
  oov?: Record<string, Record<string, number> | null>;
  skippedRows?: Record<string, Record<string, number> | null>;
  trainSeconds?: number;
  bestEpoch?: number;
  stoppedEarly?: boolean;
}

export interface ReportData {
  title: string;
  generated: string;
  model: { name: string; dir: string; created?: string; evaluatedOn?: string; metrics?: Record<string, number | null> };
  run: RunFacts;
  history: { epochs: number[]; losses: LossSeries[]; stepLoss: number[]; bestEpoch?: number } | null;
  /** Curves of every compared model (ROC/PR/calibration overlays), by model name. */
  modelCurves?: Record<string, CurvesData>;
  curves: CurvesData | null;
  /** Where the curves come from: 'training' (curves.json) or the data file. */
  curvesSource: string | null;
  comparison: ComparisonTable | null;
  notes: string[];
  /** Display names of the tasks (ctr, cvr, ctcvr, action): the schema's task_names, else CTR/CVR/CTCVR. */
  taskNames: TaskNames;
  /** Funnel stage (label column) -> display name, for the stages the schema names. */
  stageNames: Record<string, string>;
}

export interface ReportInputs {
  modelDir: string;
  /** `esmm compare --json` output file, or the same object in memory (`comparison`). */
  compareFile?: string;
  comparison?: { metrics: Record<string, Record<string, number | null>>; evaluatedOn?: string; seconds?: Record<string, number> };
  dataFile?: string;
  /** Model directories of a comparison, by model name, for overlaid curves. */
  compareDirs?: Record<string, string>;
}

export async function gatherReportData(inputs: ReportInputs): Promise<ReportData> {
  const dir = inputs.modelDir;
  recoverDir(dir); // finish a publication a killed `train` left half done, so the files below belong together
  const manifest = readJson(join(dir, 'model.json'), true) as { created?: string; config?: { model?: { name?: string }; schema?: Schema } };
  const metricsFile = readJson(join(dir, 'metrics.json'), false) as MetricsFile | undefined;
  let metrics = metricsFile?.metrics;
  let evaluatedOn = metricsFile?.evaluated_on;
  const historyFile = readJson(join(dir, 'history.json'), false) as { history?: HistoryRecord[]; step_loss?: number[] } | undefined;
  const notes: string[] = [];

  let curves: CurvesData | null = null;
  let curvesSource: string | null = null;
  if (inputs.dataFile !== undefined) {
    const model = await loadModel(dir);
    try {
      // Read as eval reads it: through the model's preset and layout, skipping as it was trained to.
      const { data } = await readForModel(model.config, inputs.dataFile, { purpose: 'eval', skipInvalid: model.config.data.skip_invalid === true });
      const encoded = model.features.transform(data);
      const predictions = await model.predictEncoded(encoded);
      curves = computeCurves(encoded, predictions, model.config.schema, basename(inputs.dataFile));
      curvesSource = resolve(inputs.dataFile);
      // The summary describes the data the curves come from, not the training run's split.
      metrics = evaluatePredictions(encoded, predictions);
      evaluatedOn = basename(inputs.dataFile);
    } finally {
      await model.release();
    }
  } else {
    curves = (readJson(join(dir, 'curves.json'), false) as CurvesData | undefined) ?? null;
    if (curves !== null) curvesSource = `the ${curves.split} split at training time`;
    else notes.push('no curves.json in the model directory (trained by an older esmm?): pass --data FILE for ROC and calibration plots');
  }
  if (historyFile === undefined) notes.push('no history.json in the model directory: no loss curves');

  // metrics.json's map when there is one (what the run printed), else the saved schema's names.
  const names: TaskNames = { ...taskNames(manifest.config?.schema), ...metricsFile?.task_names };
  const comparison = inputs.comparison !== undefined ? comparisonTable(inputs.comparison, '<compare>', names) : inputs.compareFile !== undefined ? comparisonTable(readJson(inputs.compareFile, true), inputs.compareFile, names) : null;
  const modelCurves: Record<string, CurvesData> = {};
  for (const [name, d] of Object.entries(inputs.compareDirs ?? {})) {
    const c = readJson(join(d, 'curves.json'), false) as CurvesData | undefined;
    if (c !== undefined) modelCurves[name] = c;
  }
  const history = historyFile === undefined ? null : lossSeries(historyFile.history ?? [], historyFile.step_loss ?? []);
  if (history !== null && typeof metricsFile?.best_epoch === 'number') history.bestEpoch = metricsFile.best_epoch;
  return {
    title: comparison !== null ? `esmm comparison: ${comparison.rows.map((r) => r.model).join(', ')}` : `esmm report: ${manifest.config?.model?.name ?? 'model'}`,
    generated: new Date().toISOString(),
    model: {
      name: manifest.config?.model?.name ?? 'unknown',
      dir: resolve(dir),
      ...(manifest.created !== undefined ? { created: manifest.created } : {}),
      ...(evaluatedOn !== undefined ? { evaluatedOn } : {}),
      ...(metrics !== undefined ? { metrics } : {}),
    },
    run: {
      ...(manifest.config !== undefined ? { config: manifest.config } : {}),
      ...(metricsFile?.rows !== undefined ? { rows: metricsFile.rows } : {}),
      ...(metricsFile?.oov !== undefined ? { oov: metricsFile.oov } : {}),
      ...(metricsFile?.skipped_rows !== undefined ? { skippedRows: metricsFile.skipped_rows } : {}),
      ...(typeof metricsFile?.train_seconds === 'number' ? { trainSeconds: metricsFile.train_seconds } : {}),
      ...(typeof metricsFile?.best_epoch === 'number' ? { bestEpoch: metricsFile.best_epoch } : {}),
      ...(typeof metricsFile?.stopped_early === 'boolean' ? { stoppedEarly: metricsFile.stopped_early } : {}),
    },
    history,
    ...(Object.keys(modelCurves).length > 0 ? { modelCurves } : {}),
    curves,
    curvesSource,
    comparison,
    notes,
    taskNames: names,
    stageNames: stageNames(manifest.config?.schema),
  };
}

interface MetricsFile {
  evaluated_on?: string;
  metrics?: Record<string, number | null>;
  best_epoch?: number;
  stopped_early?: boolean;
  rows?: Record<string, number | null>;
  oov?: Record<string, Record<string, number> | null>;
  skipped_rows?: Record<string, Record<string, number> | null>;
  train_seconds?: number;
  /** Only the tasks the schema has (no action without action labels). */
  task_names?: Partial<TaskNames>;
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

function comparisonTable(json: unknown, file: string, names: TaskNames): ComparisonTable {
  // evaluated_on since issue 12; evaluatedOn in files written before.
  const j = (json ?? {}) as { metrics?: unknown; evaluated_on?: string; evaluatedOn?: string; seconds?: Record<string, number> };
  const evaluatedOn = j.evaluated_on ?? j.evaluatedOn;
  if (j.metrics === null || typeof j.metrics !== 'object' || Array.isArray(j.metrics)) {
    throw new UserError('expected the output of `esmm compare --json`: {"metrics": {"model": {...}}}', { file, key: 'metrics' });
  }
  const metrics = j.metrics as Record<string, Record<string, number | null>>;
  const models = Object.keys(metrics);
  const extra = [
    { key: 'logloss_ctr', title: `${names.ctr} logloss` },
    { key: 'logloss_cvr_clicked', title: `${names.cvr} logloss (clicked)` },
    { key: 'calibration_ctcvr', title: `p${names.ctcvr === 'CTCVR' ? 'CTCVR' : `(${names.ctcvr})`} mean / observed` },
    { key: 'ece_ctcvr', title: `${names.ctcvr} ECE` },
  ];
  const columns = [...tableColumns(names), ...extra].filter((c) => models.some((m) => typeof metrics[m]?.[c.key] === 'number'));
  return {
    columns,
    rows: models.map((model) => ({ model, values: columns.map((c) => num(metrics[model]?.[c.key])) })),
    ...(typeof evaluatedOn === 'string' ? { evaluatedOn } : {}),
    ...(j.seconds !== undefined && typeof j.seconds === 'object' && Object.keys(j.seconds).length > 0 ? { seconds: j.seconds } : {}),
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
