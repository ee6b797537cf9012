import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { trainAndEvaluate } from '../../src/api/pipeline.js';

const base = {
  data: { train: 't.csv' },
  schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['user_id', 'item_id', 'item_category'], multi_valued: [{ name: 'recent', separator: '|' }] },
};
const parse = (model: Record<string, unknown>, train: Record<string, unknown> = {}) => parseConfig({ ...base, model, train }, 'test.yaml', '.');

describe('config: interaction layers and calibration', () => {
  it('parses DCN bottoms and towers and inner-product sides', () => {
    const m = parse({
      bottom: { type: 'dcn', cross_layers: 3 },
      towers: { cvr: { type: 'dcn', cross_layers: 1, inner_product: { user: ['user_id'], item: ['item_id'] } } },
      inner_product: { user: ['user_id'], item: ['item_id', 'recent'] },
    }).model;
    expect(m.bottom).toEqual({ type: 'dcn', cross_layers: 3 });
    expect(m.towers.cvr).toEqual({ type: 'dcn', cross_layers: 1, inner_product: { user: ['user_id'], item: ['item_id'] } });
    expect(m.inner_product).toEqual({ user: ['user_id'], item: ['item_id', 'recent'] });
    // A field group is a slot of its own.
    expect(parse({ field_groups: { item: ['item_id', 'item_category'] }, inner_product: { user: ['user_id'], item: ['item'] } }).model.inner_product?.item).toEqual(['item']);
  });

  it('refuses bad interaction settings with the key', () => {
    expect(() => parse({ inner_product: { user: ['user_id'], item: ['price'] } })).toThrow(/model\.inner_product\.item\[0\].*'price'/);
    expect(() => parse({ inner_product: { user: [], item: ['item_id'] } })).toThrow(/model\.inner_product\.user/);
    expect(() => parse({ field_groups: { item: ['item_id', 'item_category'] }, inner_product: { user: ['user_id'], item: ['item_id'] } })).toThrow(/group 'item'/);
    expect(() => parse({ towers: { ctr: { type: 'mlp', cross_layers: 2 } } })).toThrow(/model\.towers\.ctr\.cross_layers/);
    expect(() => parse({ bottom: { type: 'dcn', cross_layers: 0 } })).toThrow(/model\.bottom\.cross_layers/);
  });

  it('parses train.calibration and refuses unknown methods', () => {
    expect(parse({}).train.calibration).toBeUndefined();
    expect(parse({}, { calibration: 'isotonic' }).train.calibration).toBe('isotonic');
    expect(() => parse({}, { calibration: 'beta' })).toThrow(/train\.calibration/);
  });

  it('refuses calibration without a validation split before training', async () => {
    const dir = join(import.meta.dirname, '..', 'fixtures', 'data');
    const config = parseConfig({
      data: { train: 'good.csv' },
      schema: { labels: { click: 'click', buy: 'buy' }, categorical: ['user', 'item'] },
      train: { calibration: 'platt', threads: 1 },
    }, join(dir, 'c.yaml'), dir);
    await expect(trainAndEvaluate(config)).rejects.toThrow(/key 'train\.calibration'.*validation split/);
  });
});
