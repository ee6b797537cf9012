import type { Graph, Value } from '../graph/graph.js';

/**
 * Probability algebra of a funnel, in log space.
 *
 * Every model in the ESMM family is a statement about a funnel: towers predict conditional edge
 * probabilities and the probability of reaching a stage from an impression is the product along
 * the path, summed over alternative paths. We carry each probability as the pair
 * (log p, log(1 - p)) so that losses on products of small probabilities stay finite and exact
 * (DESIGN.md: never take the log of a rounded product).
 *
 *   tower t (logit a):   log p = logsig(a),              log(1-p) = logsig(-a)
 *   product(x, y):       log p = lx + ly,                log(1-p) = lse(l(1-x), lx + l(1-y))
 *                        (1 - xy = (1 - x) + x (1 - y); for two towers this is the same number as
 *                        DESIGN.md's logsumexp(-a, -b, -a-b) - softplus(-a) - softplus(-b), computed
 *                        in this two-term form, which extends to any number of factors)
 *   branch(c, t, f) = c t + (1 - c) f  (disjoint paths through a binary choice):
 *                        log p = lse(lc + lt, l(1-c) + lf),  log(1-p) = lse(lc + l(1-t), l(1-c) + l(1-f))
 *
 * ESMM (SIGIR'18, eq. 2): pCTCVR = pCTR x pCVR = product(ctr, cvr).
 * ESM2 (SIGIR'20, eq. 5-7): pCVR = y2 y3 + (1 - y2) y4 = branch(y2, y3, y4); pCTCVR = product(y1, pCVR).
 */
export type ProbExpr =
  | { kind: 'tower'; tower: string }
  | { kind: 'not'; of: ProbExpr }
  | { kind: 'product'; of: ProbExpr[] }
  | { kind: 'branch'; cond: ProbExpr; ifTrue: ProbExpr; ifFalse: ProbExpr };

export const tower = (name: string): ProbExpr => ({ kind: 'tower', tower: name });
export const not = (of: ProbExpr): ProbExpr => ({ kind: 'not', of });
export const product = (...of: ProbExpr[]): ProbExpr => ({ kind: 'product', of });
export const branch = (cond: ProbExpr, ifTrue: ProbExpr, ifFalse: ProbExpr): ProbExpr => ({ kind: 'branch', cond, ifTrue, ifFalse });

/** A probability as graph values: log p and log(1 - p), each [batch, 1]. */
export interface LogProb {
  logp: Value;
  log1mp: Value;
}

/**
 * Graph values already built for an expression, keyed by its structure (exprKey): a declaration
 * that writes product(ctr, cvr) twice (a loss and an output) gets one set of nodes.
 */
export type LogProbCache = Map<string, LogProb>;

/** A structural key of an expression: equal for equal trees, whatever objects they are made of. */
export function exprKey(e: ProbExpr): string {
  switch (e.kind) {
    case 'tower':
      return `tower(${JSON.stringify(e.tower)})`;
    case 'not':
      return `not(${exprKey(e.of)})`;
    case 'product':
      return `product(${e.of.map(exprKey).join(',')})`;
    case 'branch':
      return `branch(${exprKey(e.cond)},${exprKey(e.ifTrue)},${exprKey(e.ifFalse)})`;
  }
}

/** Towers referenced by an expression (each once, in first-use order). */
export function towersOf(e: ProbExpr, out: string[] = []): string[] {
  switch (e.kind) {
    case 'tower':
      if (!out.includes(e.tower)) out.push(e.tower);
      break;
    case 'not':
      towersOf(e.of, out);
      break;
    case 'product':
      for (const x of e.of) towersOf(x, out);
      break;
    case 'branch':
      towersOf(e.cond, out);
      towersOf(e.ifTrue, out);
      towersOf(e.ifFalse, out);
      break;
  }
  return out;
}

/** Emit graph nodes computing (log p, log 1-p) of an expression from tower logits. */
export function buildLogProb(g: Graph, e: ProbExpr, logits: Map<string, Value>, cache: LogProbCache = new Map()): LogProb {
  const key = exprKey(e);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let out: LogProb;
  switch (e.kind) {
    case 'tower': {
      const a = logits.get(e.tower);
      if (a === undefined) throw new Error(`funnel references unknown tower '${e.tower}'`);
      out = { logp: g.logSigmoid(a), log1mp: g.logSigmoid(g.neg(a)) };
      break;
    }
    case 'not': {
      const x = buildLogProb(g, e.of, logits, cache);
      out = { logp: x.log1mp, log1mp: x.logp };
      break;
    }
    case 'product': {
      if (e.of.length === 0) throw new Error('empty product');
      out = buildLogProb(g, e.of[0]!, logits, cache);
      for (const next of e.of.slice(1)) {
        const y = buildLogProb(g, next, logits, cache);
        out = { logp: g.add(out.logp, y.logp), log1mp: g.logSumExp2(out.log1mp, g.add(out.logp, y.log1mp)) };
      }
      break;
    }
    case 'branch': {
      const c = buildLogProb(g, e.cond, logits, cache);
      const t = buildLogProb(g, e.ifTrue, logits, cache);
      const f = buildLogProb(g, e.ifFalse, logits, cache);
      out = {
        logp: g.logSumExp2(g.add(c.logp, t.logp), g.add(c.log1mp, f.logp)),
        log1mp: g.logSumExp2(g.add(c.logp, t.log1mp), g.add(c.log1mp, f.log1mp)),
      };
      break;
    }
  }
  cache.set(key, out);
  return out;
}

/** Plain float64 evaluation of an expression from tower probabilities (tests and references). */
export function evalProb(e: ProbExpr, p: Record<string, number>): number {
  switch (e.kind) {
    case 'tower': {
      const v = p[e.tower];
      if (v === undefined) throw new Error(`no probability for tower '${e.tower}'`);
      return v;
    }
    case 'not':
      return 1 - evalProb(e.of, p);
    case 'product':
      return e.of.reduce((acc, x) => acc * evalProb(x, p), 1);
    case 'branch': {
      const c = evalProb(e.cond, p);
      return c * evalProb(e.ifTrue, p) + (1 - c) * evalProb(e.ifFalse, p);
    }
  }
}
