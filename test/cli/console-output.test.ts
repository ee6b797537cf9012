/**
 * What the console says without opening metrics.json: phases with time and rate, rows skipped and
 * why, OOV rates at train and predict time, early stop and the epoch kept, where files went; and
 * the result table (AUC and GAUC per task, macro means, groups) within 100 columns.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logBestEpoch } from '../../src/api/pipeline.js';
import { parseConfig } from '../../src/api/load-config.js';
import { formatEpochLine, TrainTicker } from '../../src/cli/progress-line.js';
import { printTable } from '../../src/report/table.js';
import { tempDir } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'esmm.js');

/** A real process with stderr a pipe (not a terminal), as in CI logs. */
async function esmm(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

const METRICS = {
  rows: 3000, auc_cvr_clicked: 0.8, gauc_cvr_clicked: 0.7, groups_cvr_clicked: 12, auc_ctcvr: 0.9, gauc_ctcvr: 0.8, groups_ctcvr: 3,
  auc_ctr: 0.77, gauc_ctr: 0.6, groups_ctr: 400, auc_action: 0.7, gauc_action: 0.6, groups_action: 40, auc_cvr_entire_space: 0.79,
  auc_macro: 0.8, gauc_macro: 0.7, logloss_ctcvr: 0.0038, calibration_cvr_entire_space: 2.98,
};

describe('the result table', () => {
  it('fits 100 columns (wrapping columns), with AUC and GAUC per task, macro means and group counts', () => {
    const table = printTable({ esmm: METRICS, esm2: METRICS, naive_cvr: METRICS, division: METRICS, escm2_ipw: METRICS });
    for (const line of table.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    for (const task of ['CVR clicked', 'CTCVR', 'CTR', 'action', 'macro']) expect(table).toContain(task);
    const headers = table.split('\n').filter((l) => l.startsWith('model '));
    expect(headers.join(' ').match(/GAUC/g)!.length).toBe(5); // cvr clicked, ctcvr, ctr, action, macro
    expect(table).toMatch(/GAUC groups \(users with both classes\): CTR 400, CTCVR 3, CVR clicked 12, action 40/);
    expect(table).not.toMatch(/\d\.0{4,}\b.*groups/);
  });
});

describe('progress lines', () => {
  it('a terminal progress line has elapsed, rate and ETA in at most 79 columns; epoch lines under 100', () => {
    const ticker = new TrainTicker('  ');
    const p = { epoch: 1, epochs: 10, step: 500, stepsPerEpoch: 1000, samplesPerSecond: 12345, losses: { loss: 0.1234, ctr: 0.2, ctcvr: 0.01 } };
    ticker.line(p, 10_000);
    const line = ticker.line({ ...p, step: 600 }, 12_000);
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/epoch 1\/10 \[#{6}\.{4}\] 60%  12\.3k rows\/s  0:03 ETA \d+:\d{2}  loss 0\.1234/);
    const epoch = formatEpochLine({ epoch: 3, seconds: 75, samplesPerSecond: 9876, train: { loss: 0.123456 }, valid: { auc_ctr: 0.7, auc_ctcvr: 0.8, auc_cvr_clicked: 0.6, auc_action: 0.65 } }, 10, '  ');
    expect(epoch.length).toBeLessThanOrEqual(100);
    expect(epoch).toBe('  epoch 3/10  loss 0.1235  valid AUC ctr 0.700 ctcvr 0.800 cvr@clk 0.600 action 0.650  9.9k/s  1:15');
  });

  it('says which epoch was kept after an early stop', () => {
    const lines: string[] = [];
    const config = parseConfig({ data: { synth: { rows: 1000 } }, schema: 'synth', train: { epochs: 5, early_stopping: { metric: 'auc_ctcvr', patience: 1 } } }, 'test', '.');
    const history = [1, 2, 3].map((epoch) => ({ epoch, steps: 1, seconds: 1, samplesPerSecond: 1, train: { loss: 1 } }));
    logBestEpoch(config, { stoppedEarly: true, bestEpoch: 2, history } as unknown as Parameters<typeof logBestEpoch>[1], (l) => lines.push(l));
    expect(lines).toEqual(['early stop after epoch 3 of 5: valid auc_ctcvr did not improve; kept the weights of epoch 2']);
  });
});

describe('train, predict and eval on a pipe (not a terminal)', () => {
  it('print phases, skipped rows, OOV rates, epochs, where files went; counts as integers', async () => {
    const dir = tempDir('esmm-console-');
    const synth = await esmm(['synth', '--out', dir, '--rows', '4000', '--seed', '2', '--quiet'], dir);
    expect(synth.code, synth.stderr).toBe(0);
    // One impossible row (a buy without a click) in train, skipped with data.skip_invalid.
    const train = readFileSync(join(dir, 'train.csv'), 'utf8').split('\n');
    const cols = train[0]!.split(',');
    const bad = train[1]!.split(',');
    bad[cols.indexOf('click')] = '0';
    bad[cols.indexOf('cart')] = '0';
    bad[cols.indexOf('buy')] = '1';
    train[1] = bad.join(',');
    writeFileSync(join(dir, 'train.csv'), train.join('\n'));
    writeFileSync(join(dir, 'c.yaml'), [
      'data: { train: train.csv, valid: valid.csv, test: test.csv, skip_invalid: true }',
      'schema:',
      '  labels: { click: click, buy: buy, actions: [cart] }',
      '  categorical: [user_id, item_id, item_category, user_segment, position]',
      '  numeric: [item_price, user_activity]',
      '  group: user_id',
      '  truth: [true_pcvr, potential_buy]',
      'model: { name: esmm, embedding_dim: 4, tower: [8] }',
      'train: { epochs: 2, batch_size: 256, seed: 1 }',
      '',
    ].join('\n'));
    const t = await esmm(['train', '--config', 'c.yaml', '--out', 'm'], dir);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).not.toContain('\r'); // no progress bar when stderr is not a terminal
    expect(t.stderr).toMatch(/^read train .*train\.csv: 3,199 rows in \d+\.\d s \([\d,]+ rows\/s\)$/m);
    expect(t.stderr).toMatch(/^  skipped 1 of 3,200 rows \(buy without click: 1; data\.skip_invalid is on\)$/m);
    expect(t.stderr).toMatch(/^features fitted on 3,199 train rows, 3,999 rows encoded in \d+\.\d s/m);
    expect(t.stderr).toMatch(/^  out-of-vocabulary in test \(values unseen in train\): user_id \d+\.\d\d% \(\d+\)/m);
    expect(t.stderr.match(/^epoch [12]\/2  loss \d\.\d{4}  valid AUC ctr/gm)).toHaveLength(2);
    expect(t.stderr).toMatch(/^evaluated on the test split \(400 rows\) in \d+\.\d s$/m);
    expect(t.stderr).toMatch(/^model written to m\/ \(metrics in m\/metrics\.json, curves in m\/curves\.json\)$/m);
    expect(t.stdout).toMatch(/GAUC groups \(users with both classes\): CTR \d+/);

    const p = await esmm(['predict', '--model', 'm', '--data', 'test.csv', '--out', 'p.csv'], dir);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/out-of-vocabulary.*user_id \d+\.\d\d% \(\d+\)/);
    expect(p.stderr).toMatch(/^400 predictions written to p\.csv$/m);

    const e = await esmm(['eval', '--model', 'm', '--data', 'test.csv', '--json', 'e.json'], dir);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^rows +400$/m);
    expect(e.stdout).toMatch(/^groups_ctr +\d+$/m);
    expect(e.stdout).not.toMatch(/\d\.0{6}$/m);
    expect(e.stderr).toMatch(/metrics written to e\.json/);
    const json = JSON.parse(readFileSync(join(dir, 'e.json'), 'utf8')) as Record<string, number>;
    expect(json).toHaveProperty('gauc_cvr_clicked'); // null (NaN) when no user has both classes among clicks
    expect(Number.isInteger(json.groups_cvr_clicked)).toBe(true);
  }, 300_000);
});

describe('convert on a pipe', () => {
  it('prints each stage with its rate and elapsed time, one line per stage end', async () => {
    const dir = tempDir('esmm-console-convert-');
    const raw = join(import.meta.dirname, '..', 'fixtures', 'ali-ccp-raw');
    const r = await esmm(['convert', 'ali-ccp', '--skeleton', join(raw, 'sample_skeleton_fixture.csv'), '--common', join(raw, 'common_features_fixture.csv'), '--out', 'o.parquet'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr).toMatch(/^common features: 3 of ~3 lines \(100%\)  [\d.]+k? lines\/s  \d+:\d\d$/m);
    expect(r.stderr).toMatch(/^samples: 12 of ~12 lines \(100%\)  [\d.]+k? lines\/s  \d+:\d\d$/m);
    expect(r.stderr).toMatch(/^wrote 12 rows to o\.parquet in \d+\.\d s$/m);
  }, 120_000);
});
