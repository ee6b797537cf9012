import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/api/load-config.js';

const base = {
  data: { train: 't.csv' },
  schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['user_id', 'item_id', 'item_category'], multi_valued: [{ name: 'recent', separator: '|' }] },
};
const parse = (model: Record<string, unknown>) => parseConfig({ ...base, model }, 'test.yaml', '.');

describe('model config: towers, pooling, bottoms, families', () => {
  it('parses per-tower settings over the model-wide defaults', () => {
    const m = parse({ towers: { ctr: { type: 'fm' }, cvr: { sizes: [64, 32], activation: 'tanh', dropout: 0.1, norm: 'layer' } } }).model;
    expect(m.towers).toEqual({ ctr: { type: 'fm' }, cvr: { type: 'mlp', sizes: [64, 32], activation: 'tanh', dropout: 0.1, norm: 'layer' } });
    expect(() => parse({ towers: { ctr: { type: 'gru' } } })).toThrow(/model\.towers\.ctr\.type.*gru/);
    expect(() => parse({ towers: { ctr: { norm: 'batch' } } })).toThrow(/model\.towers\.ctr\.norm.*layer/);
    expect(() => parse({ towers: { ctr: { size: [3] } } })).toThrow(/model\.towers\.ctr\.size.*unknown key/);
  });

  it('parses field groups and checks their fields against the schema', () => {
    expect(parse({ field_groups: { item: ['item_id', 'item_category'] } }).model.field_groups).toEqual({ item: ['item_id', 'item_category'] });
    expect(() => parse({ field_groups: { item: ['item_id', 'price'] } })).toThrow(/field_groups\.item\[1\].*price/);
    expect(() => parse({ field_groups: { a: ['item_id'], b: ['item_id'] } })).toThrow(/two groups/);
  });

  it('parses per-field pooling with an attention target', () => {
    expect(parse({ pooling: { recent: { type: 'attention', target: 'item_category' } } }).model.pooling).toEqual({ recent: { type: 'attention', target: 'item_category' } });
    expect(parse({ pooling: { recent: 'mean' } }).model.pooling).toEqual({ recent: { type: 'mean' } });
    expect(() => parse({ pooling: { user_id: 'sum' } })).toThrow(/model\.pooling\.user_id.*multi-valued/);
    expect(() => parse({ pooling: { recent: { type: 'attention', target: 'recent' } } })).toThrow(/target/);
  });

  it('parses bottoms, AITM and ESCM2 options and the new model names', () => {
    const m = parse({ name: 'escm2_dr', bottom: { type: 'ple', experts: 2, task_experts: 1, expert: [32], levels: 2 }, escm2: { propensity_floor: 0.05 }, aitm: { alpha: 0.3 } }).model;
    expect(m.bottom).toEqual({ type: 'ple', experts: 2, task_experts: 1, expert: [32], levels: 2 });
    expect(m.escm2).toEqual({ propensity_floor: 0.05, propensity_clip: 1, self_normalize: true });
    expect(m.aitm.alpha).toBe(0.3);
    expect(parse({ name: 'aitm' }).model.name).toBe('aitm');
    expect(() => parse({ escm2: { propensity_floor: 0.5, propensity_clip: 0.2 } })).toThrow(/propensity_clip/);
    expect(() => parse({ escm2: { propensity_floor: 0 } })).toThrow(/propensity_floor/);
  });

  it('parses model.gradnorm with strict keys and defaults', () => {
    expect(parse({ loss_weighting: 'gradnorm', gradnorm: { alpha: 0.5 } }).model.gradnorm).toEqual({ alpha: 0.5, lr: 0.025 });
    expect(parse({ gradnorm: { lr: 0.1 } }).model.gradnorm).toEqual({ alpha: 1.5, lr: 0.1 });
    expect(parse({}).model.gradnorm).toBeUndefined();
    expect(() => parse({ gradnorm: { alpha: 1, rate: 0.1 } })).toThrow(/rate/);
    expect(() => parse({ gradnorm: { lr: 0 } })).toThrow(/model\.gradnorm\.lr/);
    expect(() => parse({ gradnorm: { alpha: -1 } })).toThrow(/model\.gradnorm\.alpha/);
  });

  it('derives the simulator schema from a chain of stages', () => {
    const c = loadConfig('aitm');
    expect(c.model.name).toBe('aitm');
    expect(c.schema.labels).toEqual({ click: 'click', buy: 'activate', actions: ['apply', 'approve'] });
    expect(c.schema.truth).toEqual(expect.arrayContaining(['true_pcvr', 'potential_buy', 'true_p_apply', 'true_p_activate']));
    for (const name of ['escm2_ipw', 'escm2_dr']) expect(loadConfig(name).model.name).toBe(name);
  });
});
