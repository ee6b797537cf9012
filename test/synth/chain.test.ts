import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/synth/simulate.js';
import { UserError } from '../../src/errors.js';

describe('simulator chain of stages', () => {
  const r = simulate({ rows: 60000, calibrationRows: 20000, ctr: 0.1, stages: ['click', 'apply', 'approve', 'activate'], stageRates: [0.4, 0.5, 0.6], seed: 3 });
  const chain = r.chain!;

  it('writes one label per stage, each implied by the previous one', () => {
    expect(chain.labels).toHaveLength(3);
    let prev = r.click;
    for (const l of chain.labels) {
      for (let i = 0; i < r.rows; i++) expect(l[i]! <= prev[i]!).toBe(true);
      prev = l;
    }
    expect(Array.from(r.buy)).toEqual(Array.from(chain.labels[2]!));
  });

  it('hits the stage rates and records p(last | click) as the CVR truth', () => {
    const count = (a: Uint8Array): number => a.reduce((s, v) => s + v, 0);
    const clicks = count(r.click);
    const rates = [clicks, ...chain.labels.map(count)];
    [0.4, 0.5, 0.6].forEach((target, k) => {
      const realised = rates[k + 1]! / rates[k]!;
      expect(Math.abs(realised - target)).toBeLessThan(5 * Math.sqrt(target * (1 - target) / rates[k]!));
    });
    for (let i = 0; i < 100; i++) {
      expect(r.truePcvr[i]!).toBeCloseTo(chain.truth[0]![i]! * chain.truth[1]![i]! * chain.truth[2]![i]!, 12);
    }
  });

  it('refuses bad stage options', () => {
    expect(() => simulate({ stages: ['click'] })).toThrow(UserError);
    expect(() => simulate({ stages: ['click', 'a', 'b'], stageRates: [0.5] })).toThrow(/stageRates/);
    expect(() => simulate({ stages: ['click', 'item_id'] })).toThrow(/already a column/);
  });
});
