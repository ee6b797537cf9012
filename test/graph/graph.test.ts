import { describe, expect, it } from 'vitest';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph } from '../../src/graph/graph.js';

describe('shape inference', () => {
  it('broadcasts numpy-style and keeps symbolic dims', () => {
    const g = new Graph();
    const a = g.input('a', ['batch', 4]);
    expect(g.add(a, g.input('b', [4])).shape).toEqual(['batch', 4]);
    expect(g.mul(g.input('c', ['batch', 1]), a).shape).toEqual(['batch', 4]);
    expect(g.sub(a, g.constant(1)).shape).toEqual(['batch', 4]);
    expect(g.greater(a, g.constant(0)).dtype).toBe('bool');
  });

  it('names both shapes when they do not broadcast', () => {
    const g = new Graph();
    const a = g.input('a', [3, 4]);
    expect(() => g.add(a, g.input('b', [5]))).toThrow(/\[3, 4\] and \[5\]/);
    // A symbolic dim against a number other than 1 is refused: the un-broadcast would be unknowable.
    expect(() => g.add(g.input('c', ['batch', 4]), a)).toThrow(/'batch'/);
  });

  it('infers matmul, gemm and linear shapes and rejects inner mismatches', () => {
    const g = new Graph();
    const x = g.input('x', ['batch', 6]);
    const w = g.param('w', [6, 3], new Float32Array(18));
    expect(g.matmul(x, w).shape).toEqual(['batch', 3]);
    expect(g.linear(x, w, g.param('b', [3], new Float32Array(3))).shape).toEqual(['batch', 3]);
    expect(g.gemm(x, x, undefined, { transA: true }).shape).toEqual([6, 6]);
    expect(g.matmul(g.input('t', [2, 'batch', 6]), w).shape).toEqual([2, 'batch', 3]);
    expect(() => g.matmul(w, w)).toThrow(/\[6, 3\] x \[6, 3\]/);
    expect(() => g.linear(x, w, g.constant([1, 2]))).toThrow(/bias/);
  });

  it('infers shapes of the shape-manipulating ops', () => {
    const g = new Graph();
    const x = g.input('x', ['batch', 2, 3]);
    expect(g.reshape(x, ['batch', 6]).shape).toEqual(['batch', 6]);
    expect(g.reshape(x, ['batch', -1]).shape).toEqual(['batch', 6]);
    expect(g.reshape(x, [-1, 3]).shape).toEqual(['batch*2', 3]);
    expect(g.transpose(x, [2, 0, 1]).shape).toEqual([3, 'batch', 2]);
    expect(g.unsqueeze(x, [-1]).shape).toEqual(['batch', 2, 3, 1]);
    expect(g.squeeze(g.unsqueeze(x, [1]), [1]).shape).toEqual(['batch', 2, 3]);
    expect(g.concat([x, x], 2).shape).toEqual(['batch', 2, 6]);
    expect(g.split(x, -1, [1, 2]).map((v) => v.shape)).toEqual([
      ['batch', 2, 1],
      ['batch', 2, 2],
    ]);
    expect(g.slice(x, 2, -2, 100).shape).toEqual(['batch', 2, 2]);
    expect(g.reduceSum(x, [1]).shape).toEqual(['batch', 3]);
    expect(g.reduceMean(x, [0, 2], true).shape).toEqual([1, 2, 1]);
    expect(g.softmax(x, 1).shape).toEqual(['batch', 2, 3]);
    expect(() => g.split(x, 2, [1, 1])).toThrow(/partition/);
    expect(() => g.squeeze(x, [1])).toThrow(/not 1/);
    expect(() => g.reshape(g.input('y', [2, 3]), [4, 2])).toThrow(/cannot become/);
    expect(() => g.transpose(x, [0, 0, 1])).toThrow(/permutation/);
    expect(() => g.concat([x, g.input('z', ['batch', 3, 3])], 2)).toThrow(/differ off axis/);
  });

  it('float64 graphs turn float inputs, params and constants into float64', () => {
    const g = new Graph('d', { dtype: 'float64' });
    expect(g.input('x', [2], 'float32').dtype).toBe('float64');
    expect(g.param('p', [2], new Float32Array(2)).dtype).toBe('float64');
    expect(g.constant(1).dtype).toBe('float64');
    expect(g.input('ids', [2], 'int64').dtype).toBe('int64');
  });

  it('refuses values from another graph, duplicate names and mis-sized params', () => {
    const g = new Graph('a');
    const other = new Graph('b').input('x', [2]);
    expect(() => g.neg(other)).toThrow(/does not belong/);
    g.input('x', [2]);
    expect(() => g.input('x', [2])).toThrow(/used twice/);
    expect(() => g.param('w', [2, 2], new Float32Array(3))).toThrow(/needs 4/);
    expect(() => g.dropout(g.input('y', [2]), g.input('m', [2]), 0)).toThrow(/keepProb/);
  });
});

describe('gradients: structure', () => {
  function tower(g: Graph) {
    const x = g.input('x', ['batch', 4]);
    const label = g.input('label', ['batch', 1]);
    const w = g.param('w', [4, 1], new Float32Array(4));
    const pred = g.sigmoid(g.linear(x, w));
    const loss = g.reduceMean(g.mul(g.sub(pred, label), g.sub(pred, label)), [0, 1]);
    return { x, w, label, loss };
  }

  it('emits only the nodes that lead to the requested gradients', () => {
    const g1 = new Graph();
    const t1 = tower(g1);
    const before = g1.nodes().length;
    gradients(g1, t1.loss, [t1.w]);
    const onlyW = g1.nodes().length - before;

    const g2 = new Graph();
    const t2 = tower(g2);
    gradients(g2, t2.loss, [t2.w, t2.x]);
    const both = g2.nodes().length - before;
    expect(both).toBe(onlyW + 1); // one more Gemm for dx

    const g3 = new Graph();
    const t3 = tower(g3);
    const [dl] = gradients(g3, t3.loss, [t3.label]);
    expect(dl!.shape).toEqual(['batch', 1]);
  });

  it('uses transposed Gemm, not Transpose, for 2-D matmul gradients', () => {
    const g = new Graph();
    const a = g.input('a', ['batch', 3]);
    const b = g.param('b', [3, 2], new Float32Array(6));
    const loss = g.reduceSum(g.matmul(a, b), [0, 1]);
    const [da, db] = gradients(g, loss, [a, b]);
    expect(da!.shape).toEqual(['batch', 3]);
    expect(db!.shape).toEqual([3, 2]);
    const added = g.nodes().filter((n) => n.op === 'Gemm');
    expect(added.map((n) => [n.attrs['transA']?.kind === 'int', n.attrs['transB']?.kind === 'int'])).toEqual([
      [false, true],
      [true, false],
    ]);
    expect(g.nodes().some((n) => n.op === 'Transpose')).toBe(false);
  });

  it('requires a scalar loss', () => {
    const g = new Graph();
    const x = g.input('x', [3]);
    expect(() => gradients(g, g.exp(x), [x])).toThrow(/scalar/);
  });

  it('gradient shapes equal the shapes of the wrt values under broadcasting', () => {
    const g = new Graph();
    const a = g.input('a', ['batch', 4]);
    const b = g.input('b', [4]);
    const c = g.input('c', ['batch', 1]);
    const s = g.constant(2);
    const loss = g.reduceSum(g.mul(g.add(a, b), g.mul(c, s)), [0, 1]);
    const grads = gradients(g, loss, [a, b, c]);
    expect(grads.map((v) => v.shape)).toEqual([['batch', 4], [4], ['batch', 1]]);
  });
});
