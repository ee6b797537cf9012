import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/api/load-config.js';
import { UserError } from '../../src/errors.js';
import { applySchemaSpec, needsColumns } from '../../src/datasets/schema-patterns.js';

const where = { source: 'my.yaml', file: 'train.csv' };
const COLUMNS = ['user_id', 'item_id', 'event_type', 'click', 'buy', 'c_1', 'c_2', 'c_10', 'n_1', 'n_2', 'tags', 'true_pcvr'];

describe('schema patterns and exclusions', () => {
  it('expands patterns in file order, skipping labels, truth, exclusions and columns named in another list', () => {
    const out = applySchemaSpec(
      { labels: { click: 'click', buy: 'buy' }, categorical: ['*_id', 'c_?', 'n_2'], numeric: ['n_*'], truth: ['true_*'], multi_valued: [{ name: 'ta*', separator: '|' }], exclude: ['c_2'] },
      undefined,
      COLUMNS,
      where,
    );
    expect(out.categorical).toEqual(['user_id', 'item_id', 'c_1', 'n_2']);
    expect(out.numeric).toEqual(['n_1']);
    expect(out.truth).toEqual(['true_pcvr']);
    expect(out.multi_valued).toEqual([{ name: 'tags', separator: '|' }]);
  });

  it('starts from a preset schema: given keys replace, labels merge, exclude removes literal names too', () => {
    const base = { labels: { click: 'click', buy: 'buy' }, categorical: ['user_id', 'item_id', 'event_type'], numeric: ['n_1'], group: 'user_id' };
    const out = applySchemaSpec({ preset: 'x', labels: { buy: 'event_type' }, exclude: ['event_type', 'n_*'] }, base, COLUMNS, where);
    expect(out).toEqual({ labels: { click: 'click', buy: 'event_type' }, categorical: ['user_id', 'item_id'], numeric: [], group: 'user_id' });
    expect(base.categorical).toHaveLength(3); // the preset's schema is not changed
  });

  it('a pattern or an exclusion matching nothing names the key', () => {
    const err = (spec: Record<string, unknown>): UserError => {
      try {
        applySchemaSpec(spec, undefined, COLUMNS, where);
      } catch (e) {
        return e as UserError;
      }
      throw new Error('expected an error');
    };
    expect(err({ categorical: ['cat_*'] }).message).toMatch(/^my\.yaml, key 'schema\.categorical': 'cat_\*' matches no column of train\.csv/);
    expect(err({ categorical: ['user_id'], exclude: ['event'] }).location.key).toBe('schema.exclude');
    expect(err({ categorical: ['user_id'], multi_valued: [{ name: 'zz*' }] }).location.key).toBe('schema.multi_valued[0].name');
  });

  it('only schemas with patterns or exclusions need the file; the sync parser refuses unresolved keys by name', () => {
    expect(needsColumns({ categorical: ['a', 'b'] })).toBe(false);
    expect(needsColumns({ categorical: ['a*'] })).toBe(true);
    expect(needsColumns({ exclude: ['a'] })).toBe(true);
    expect(() => parseConfig({ data: { train: 'x.csv' }, schema: { preset: 'ali-ccp-csv' } }, 'c.yaml', '.')).toThrow(/key 'schema.preset'/);
    expect(() => parseConfig({ data: { train: 'x.csv' }, schema: 'ali-ccp-csv' }, 'c.yaml', '.')).toThrow(/schema: \{ preset: ali-ccp-csv \}/);
    expect(() => parseConfig({ data: { train: 'x.csv', header: false }, schema: { labels: { click: 'a', buy: 'b' }, categorical: ['c'] } }, 'c.yaml', '.')).toThrow(/key 'data.columns'/);
  });
});
