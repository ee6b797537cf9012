import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { buildModelGraph } from '../../src/models/build-graph.js';
import { funnelSpec } from '../../src/models/registry.js';

const layout = { dim: 4, categorical: [{ name: 'u', size: 10 }, { name: 'i', size: 10 }], multiValued: [], numericDim: 0 };

describe('dropout', () => {
  it('gives each tower its own drop rate in training and none at inference', () => {
    const config = parseConfig({
      data: { train: 'x.csv' },
      schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['u', 'i'] },
      model: { name: 'esmm', tower: [8, 4], dropout: 0.1, towers: { cvr: { dropout: 0.5 } } },
    }, 'test', '.');
    const spec = funnelSpec('esmm', config.schema);
    const train = buildModelGraph(spec, layout, config.model, { training: true, seed: 1 });
    const rates = new Map(train.maskInputs.map((m) => [m.input, m.rate]));
    expect([...rates].filter(([k]) => k.includes('tower_ctr')).map(([, r]) => r)).toEqual([0.1, 0.1]);
    expect([...rates].filter(([k]) => k.includes('tower_cvr')).map(([, r]) => r)).toEqual([0.5, 0.5]);
    expect(buildModelGraph(spec, layout, config.model, { training: false, seed: 1 }).maskInputs).toHaveLength(0);
  });
});
