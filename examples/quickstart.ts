// The library API end to end: config -> data -> features -> train -> evaluate -> table -> serve.
import { evaluateModel, loadConfig, loadData, loadModel, prepareFeatures, printTable, saveModel, trainModel, type FlatMetrics } from '../src/index.js';

export async function quickstart(outDir: string): Promise<{ text: string; metrics: FlatMetrics }> {
  // A built-in config on the ground-truth simulator (no files needed). 100k impressions give about
  // 4,000 clicks and 300 buys to learn from: enough for AUCs well above 0.5, in about 20 seconds.
  const config = loadConfig('esmm', {
    data: { synth: { rows: 100000, seed: 1 } },
    model: { tower: [64, 32] },
    train: { epochs: 2, batch_size: 256, learning_rate: 0.003 },
  });
  const data = await loadData(config.data, config.schema, { baseDir: config.baseDir });
  const features = prepareFeatures(config.schema, data, config.features);
  const { model } = await trainModel(config, features);
  const metrics = await evaluateModel(model, features.test!);
  const table = printTable({ esmm: metrics });

  // Save, load back and score raw rows: pCTR, pCVR and pCTCVR for every row.
  await saveModel(model, outDir);
  const scorer = await loadModel(outDir);
  const [p] = await scorer.predict([{ user_id: 'u1', item_id: 'i7', item_category: 'c3', user_segment: 's1', position: 'p0', recent_categories: 'c3|c5', item_price: 19.9, user_activity: 4 }]);
  return { text: `${table}\npCTR ${p!.pctr.toFixed(4)}  pCVR ${p!.pcvr.toFixed(4)}  pCTCVR ${p!.pctcvr.toFixed(4)}`, metrics };
}
