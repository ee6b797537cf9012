/**
 * Cross-checks `esmm export` from Python: trains small esmm and esm2 models on simulated data,
 * exports them, writes test inputs (OOV ids, empty and long multi-valued cells included) with the
 * predictions of FunnelModel.predictEncoded, and runs bench/export_check.py on them with the
 * Python named by $ESMM_PYTHON (default python3), which needs onnxruntime and numpy. Skips with a
 * message when that Python lacks them. Prints one JSON line per model.
 * Run: npx tsc -p tsconfig.json && node dist/bench/export-check.js
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/api/load-config.js';
import { trainAndEvaluate } from '../src/api/pipeline.js';
import { sliceEncoded } from '../src/features/encoded-rows.js';
import { exportFeeds, writeExport } from '../src/export/index.js';

const python = process.env.ESMM_PYTHON ?? 'python3';
const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench/export_check.py');
const probe = spawnSync(python, ['-c', 'import onnxruntime, numpy'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.log(JSON.stringify({ check: 'export_python', skipped: `${python} cannot import onnxruntime and numpy (set ESMM_PYTHON to a Python that has them)` }));
  process.exit(0);
}

let failed = false;
for (const name of ['esmm', 'esm2']) {
  const dir = mkdtempSync(join(tmpdir(), `esmm-export-check-${name}-`));
  const config = loadConfig(name, { data: { synth: { rows: 5000, seed: 11 } }, train: { epochs: 1, threads: 1 }, model: { tower: [32, 16], embedding_dim: 8 } });
  const run = await trainAndEvaluate(config);
  const model = run.result.model;
  const chunk = structuredClone(sliceEncoded(run.features.test!, 0, 200));
  for (const c of chunk.categorical) c[0] = 0; // a row of OOV ids
  chunk.multiValued = chunk.multiValued.map((m) => {
    const rows = Array.from({ length: chunk.rows }, (_, r) => Array.from(m.ids.subarray(m.offsets[r]!, m.offsets[r + 1]!)));
    rows[1] = [];
    rows[2] = [1, 2, 2, 3, 0, 5, 8];
    const offsets = new Int32Array(chunk.rows + 1);
    rows.forEach((ids, r) => (offsets[r + 1] = offsets[r]! + ids.length));
    return { ids: Int32Array.from(rows.flat()), offsets };
  });
  const expected = await model.predictEncoded(chunk);
  const onnxFile = join(dir, 'model.onnx');
  writeExport(model, onnxFile);
  const inputs = Object.fromEntries(Object.entries(exportFeeds(chunk, model.layout)).map(([k, v]) => [k, { data: Array.from(v.data as ArrayLike<number | bigint>, Number), dims: v.dims }]));
  const caseFile = join(dir, 'case.json');
  writeFileSync(caseFile, JSON.stringify({ inputs, expected: Object.fromEntries(model.predictionNames.map((p) => [p, Array.from(expected[p]!)])) }));
  const r = spawnSync(python, [script, onnxFile, caseFile], { encoding: 'utf8' });
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    failed = true;
    process.stderr.write(r.stderr);
  }
  await model.release();
}
process.exit(failed ? 1 : 0);
