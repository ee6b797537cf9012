// The library API end to end: config -> data -> features -> train -> evaluate -> table -> serve.
import { evaluateModel, loadConfig, loadData, loadModel, prepareFeatures, printTable, saveModel, trainModel } from '../src/index.js';

export async function quickstart(outDir: string): Promise<string> {
  // A built-in config on the ground-truth simulator (no files needed); overrides keep it quick.
  const config = loadConfig('esmm', { data: { synth: { rows: 20000, seed: 1 } }, model: { tower: [64, 32] }, train: { epochs: 1 } });
  const data = await loadData(config.data, config.schema, { baseDir: config.baseDir });
  const features = prepareFeatures(config.schema, data, config.features);
  const { model } = await trainModel(config, features);
  const metrics = await evaluateModel(model, features.test!);
  const table = printTable({ esmm: metrics });

  // Save, load back and score raw rows: pCTR, pCVR and pCTCVR for every row.
  await saveModel(model, outDir);
  const scorer = await loadModel(outDir);
  const [p] = await scorer.predict([{ user_id: 'u1', item_id: 'i7', item_category: 'c3', user_segment: 's1', position: 'p0', recent_categories: 'c3|c5', item_price: 19.9, user_activity: 4 }]);
  return `${table}\npCTR ${p!.pctr.toFixed(4)}  pCVR ${p!.pcvr.toFixed(4)}  pCTCVR ${p!.pctcvr.toFixed(4)}`;
}
