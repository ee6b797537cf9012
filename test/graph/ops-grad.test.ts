import { describe, expect, it } from 'vitest';
import type { Graph, Value } from '../../src/graph/graph.js';
import { gradCheck, randomArray, rng } from './gradcheck.js';

type Unary = (g: Graph, x: Value) => Value;

const unaryOps: Record<string, Unary> = {
  neg: (g, x) => g.neg(x),
  abs: (g, x) => g.abs(x),
  relu: (g, x) => g.relu(x),
  sigmoid: (g, x) => g.sigmoid(x),
  tanh: (g, x) => g.tanh(x),
  exp: (g, x) => g.exp(x),
  softplus: (g, x) => g.softplus(x),
  logSigmoid: (g, x) => g.logSigmoid(x),
  identity: (g, x) => g.identity(x),
  'softmax (last axis)': (g, x) => g.softmax(x),
  'softmax (axis 0)': (g, x) => g.softmax(x, 0),
  clip: (g, x) => g.clip(x, -0.7, 0.9),
  'reduceSum keepdims': (g, x) => g.reduceSum(x, [1], true),
  'reduceSum all': (g, x) => g.reduceSum(x, [0, 1]),
  'reduceMean axis 0': (g, x) => g.reduceMean(x, [0]),
  'reduceMean keepdims': (g, x) => g.reduceMean(x, [-1], true),
  slice: (g, x) => g.slice(x, 1, 1, 3),
  'slice negative': (g, x) => g.slice(x, 0, -2, 3),
  reshape: (g, x) => g.reshape(x, [2, 6]),
  'reshape -1': (g, x) => g.reshape(x, [-1]),
  transpose: (g, x) => g.transpose(x, [1, 0]),
  unsqueeze: (g, x) => g.unsqueeze(x, [0, 3]),
  squeeze: (g, x) => g.squeeze(g.unsqueeze(x, [1]), [1]),
  'split (both parts used)': (g, x) => {
    const [a, b] = g.split(x, 1, [1, 3]);
    return g.add(g.mul(a!, a!), g.reduceSum(b!, [1], true));
  },
  'split (one part used)': (g, x) => g.split(x, 1, [2, 2])[1]!,
  'concat with itself': (g, x) => g.concat([x, g.exp(x)], 0),
  'dropout (mask constant)': (g, x) => g.dropout(x, g.constant([1, 0, 1, 1], [4]), 0.75),
  'expandLike': (g, x) => g.expandLike(g.reduceSum(x, [1], true), x),
};

describe('gradient of every unary operator matches finite differences (float64, in ORT)', () => {
  for (const [name, op] of Object.entries(unaryOps)) {
    it(name, async () => {
      await gradCheck((g) => {
        const x = g.input('x', [3, 4]);
        return { out: op(g, x), wrt: [x] };
      });
    });
  }

  it('log and sqrt on positive inputs', async () => {
    const rand = rng(5);
    for (const op of ['log', 'sqrt'] as const) {
      await gradCheck(
        (g) => {
          const x = g.input('x', [3, 4]);
          return { out: g[op](x), wrt: [x], values: { x: randomArray(12, rand, 0.2, 3) } };
        },
      );
    }
  });
});

type Binary = (g: Graph, a: Value, b: Value) => Value;
const binaryOps: Record<string, Binary> = {
  add: (g, a, b) => g.add(a, b),
  sub: (g, a, b) => g.sub(a, b),
  mul: (g, a, b) => g.mul(a, b),
  max: (g, a, b) => g.max(a, b),
  logSumExp2: (g, a, b) => g.logSumExp2(a, b),
  where: (g, a, b) => g.where(g.greater(a, b), g.mul(a, b), g.sub(a, b)),
};

describe('binary operators, with numpy broadcasting', () => {
  const shapes: [string, number[], number[]][] = [
    ['same shape', [3, 4], [3, 4]],
    ['[b,n] + [n]', [3, 4], [4]],
    ['[b,1] * [b,n]', [3, 1], [3, 4]],
    ['scalar', [3, 4], []],
    ['[1,n] and [b,1]', [1, 4], [3, 1]],
  ];
  for (const [opName, op] of Object.entries(binaryOps)) {
    for (const [shapeName, sa, sb] of shapes) {
      it(`${opName}: ${shapeName}`, async () => {
        await gradCheck((g) => {
          const a = g.input('a', sa);
          const b = g.input('b', sb);
          return { out: op(g, a, b), wrt: [a, b] };
        });
      });
    }
  }

  it('div, both broadcast directions', async () => {
    const rand = rng(9);
    for (const [sa, sb] of [
      [[3, 4], [4]],
      [[3, 1], [3, 4]],
    ] as const) {
      await gradCheck((g) => {
        const a = g.input('a', [...sa]);
        const b = g.input('b', [...sb]);
        const bSize = sb.reduce((p, d) => p * d, 1);
        return { out: g.div(a, b), wrt: [a, b], values: { b: randomArray(bSize, rand, 0.5, 2) } };
      });
    }
  });

  it('broadcast against a symbolic batch dim', async () => {
    await gradCheck(
      (g) => {
        const a = g.input('a', ['batch', 4]);
        const b = g.input('b', [4]);
        const c = g.input('c', ['batch', 1]);
        return { out: g.mul(g.add(a, b), c), wrt: [a, b, c] };
      },
      { symbols: { batch: 5 } },
    );
  });
});

describe('matrix products', () => {
  it('matmul 2-D', async () => {
    await gradCheck((g) => {
      const a = g.input('a', [3, 4]);
      const b = g.input('b', [4, 2]);
      return { out: g.matmul(a, b), wrt: [a, b] };
    });
  });

  it('matmul 3-D x 2-D (batch folded into one Gemm for the weight)', async () => {
    await gradCheck((g) => {
      const a = g.input('a', [2, 3, 4]);
      const b = g.input('b', [4, 2]);
      return { out: g.matmul(a, b), wrt: [a, b] };
    });
  });

  it('matmul batched with broadcast batch dims', async () => {
    await gradCheck((g) => {
      const a = g.input('a', [2, 3, 4]);
      const b = g.input('b', [1, 4, 2]);
      return { out: g.matmul(a, b), wrt: [a, b] };
    });
  });

  it('linear with bias and symbolic batch', async () => {
    await gradCheck(
      (g) => {
        const x = g.input('x', ['batch', 4]);
        const w = g.param('w', [4, 3], new Float32Array(12).map((_, i) => Math.sin(i)));
        const b = g.param('b', [3], new Float32Array([0.1, -0.2, 0.3]));
        return { out: g.linear(x, w, b), wrt: [x, w, b] };
      },
      { symbols: { batch: 5 } },
    );
  });

  for (const [transA, transB] of [
    [false, true],
    [true, false],
    [true, true],
  ] as const) {
    it(`gemm transA=${transA} transB=${transB} alpha=0.5 beta=2 with [m,1] bias`, async () => {
      await gradCheck((g) => {
        const a = g.input('a', transA ? [4, 3] : [3, 4]);
        const b = g.input('b', transB ? [2, 4] : [4, 2]);
        const c = g.input('c', [3, 1]);
        return { out: g.gemm(a, b, c, { transA, transB, alpha: 0.5, beta: 2 }), wrt: [a, b, c] };
      });
    });
  }
});

describe('reductions over a symbolic batch dim', () => {
  it('reduceMean over batch uses the run-time count', async () => {
    const { grads } = await gradCheck(
      (g) => {
        const x = g.input('x', ['batch', 3]);
        return { out: g.reduceMean(x, [0, 1]), wrt: [x] };
      },
      { symbols: { batch: 4 } },
    );
    // d mean / dx = R / 12 everywhere: all elements equal.
    const first = grads[0]![0]!;
    for (const v of grads[0]!) expect(v).toBeCloseTo(first, 12);
  });
});

describe('gradient plumbing', () => {
  it('sums the gradient of a value used several times', async () => {
    const x0 = Float64Array.from([0.3, -1.2, 0.7, 2.0]);
    const { grads } = await gradCheck((g) => {
      const x = g.input('x', [4]);
      // x*x + x + exp(x): three uses of x.
      return { out: g.reduceSum(g.add(g.add(g.mul(x, x), x), g.exp(x)), [0]), wrt: [x], values: { x: x0 } };
    });
    expect(grads[0]!.length).toBe(4);
  });

  it('gives zeros for a wrt value that does not reach the loss', async () => {
    const { grads } = await gradCheck((g) => {
      const x = g.input('x', [2, 3]);
      const unused = g.input('unused', [3]);
      return { out: g.tanh(x), wrt: [x, unused] };
    });
    expect(Array.from(grads[1]!)).toEqual([0, 0, 0]);
  });

  it('stops at labels and masks (no gradient requested, none emitted)', async () => {
    await gradCheck((g) => {
      const x = g.input('x', ['batch', 3]);
      const mask = g.input('mask', ['batch', 3]);
      return {
        out: g.dropout(g.relu(x), mask, 0.5),
        wrt: [x],
        feeds: { mask: { data: Float64Array.from([1, 0, 1, 1, 1, 0]), dims: [2, 3] } },
      };
    }, { symbols: { batch: 2 } });
  });

  it('a 2-layer MLP: gradients for weights, biases and the embedding input', async () => {
    const rand = rng(3);
    const init = (n: number): Float32Array => Float32Array.from(randomArray(n, rand, -0.5, 0.5));
    await gradCheck(
      (g) => {
        const emb = g.input('emb', ['batch', 6]);
        const w1 = g.param('w1', [6, 5], init(30));
        const b1 = g.param('b1', [5], init(5));
        const w2 = g.param('w2', [5, 1], init(5));
        const b2 = g.param('b2', [1], init(1));
        const h = g.relu(g.linear(emb, w1, b1));
        const logit = g.linear(h, w2, b2);
        return { out: g.sigmoid(logit), wrt: [emb, w1, b1, w2, b2] };
      },
      { symbols: { batch: 4 } },
    );
  });

  it('detects a wrong gradient (the checker can fail)', async () => {
    // With a huge step, central differences of x^3 are off by h^2 = 0.25 from the exact
    // derivative: the checker must notice.
    await expect(
      gradCheck(
        (g) => {
          const x = g.input('x', [3]);
          return { out: g.mul(g.mul(x, x), x), wrt: [x] };
        },
        { step: 0.5, atol: 0, rtol: 0 },
      ),
    ).rejects.toThrow(/finite difference/);
  });
});
