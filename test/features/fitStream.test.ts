import { describe, expect, it } from 'vitest';
import { readAll, readChunks } from '../../src/data/reader.js';
import { FeatureSpec } from '../../src/features/spec.js';
import { fixture, SCHEMA } from '../data/fixtures.js';

describe('FeatureSpec on file data', () => {
  it('fits from a chunk stream exactly as from the whole file', async () => {
    const streamed = await FeatureSpec.fitStream(SCHEMA, readChunks(fixture('good.csv'), { schema: SCHEMA, chunkRows: 1 }));
    const { data } = await readAll(fixture('good.csv'), { schema: SCHEMA });
    const whole = FeatureSpec.fit(SCHEMA, data);
    expect(streamed.toJSON().categorical).toEqual(whole.toJSON().categorical);
    const enc = whole.transform(data);
    // item: '12' x2 -> 1, then '0012' and 'x,y' once each, by value: '0012' -> 2, 'x,y' -> 3
    expect([...enc.categorical[1]!]).toEqual([2, 1, 3, 1]);
    expect(streamed.transform(data).numeric).toEqual(enc.numeric);
  });
});
