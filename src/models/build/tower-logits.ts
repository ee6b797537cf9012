import type { Value } from '../../graph/graph.js';
import type { ModelConfig } from '../../config/types.js';
import type { FunnelModelSpec } from '../funnel-spec.js';
import type { BlockContext, FieldEmbeddings } from '../blocks/block-context.js';
import { dense } from '../blocks/dense.js';
import { aitModule } from '../blocks/ait.js';
import { getTower } from '../towers/index.js';
import { innerProductTerm } from '../blocks/inner-product.js';
import type { ResolvedTower } from '../towers/types.js';
import { scaleGradient } from '../blocks/stop-gradient.js';

/** A tower's settings: model.towers.NAME over the model-wide tower, activation and dropout. */
export function resolveTower(cfg: ModelConfig, name: string): ResolvedTower {
  const t = cfg.towers[name];
  return {
    type: t?.type ?? 'mlp',
    sizes: t?.sizes ?? cfg.tower,
    activation: t?.activation ?? cfg.activation,
    dropout: t?.dropout ?? cfg.dropout,
    norm: t?.norm ?? 'none',
    ...(t?.cross_layers !== undefined ? { cross_layers: t.cross_layers } : {}),
    ...((t?.inner_product ?? cfg.inner_product) !== undefined ? { inner_product: (t?.inner_product ?? cfg.inner_product)! } : {}),
  };
}

/**
 * One tower per declared tower, in declaration order (AITM's transfer reads an earlier tower's
 * hidden vector): the tower type's hidden layers over its bottom output, AITM's transfer module
 * where declared, then the head (one dense unit) plus the tower's extra logit term. Returns the
 * logit [batch, 1] of each tower by name.
 */
export function buildTowerLogits(
  ctx: BlockContext,
  spec: FunnelModelSpec,
  cfg: ModelConfig,
  bottoms: Map<string, { perTower: Map<string, Value>; width: number; fields: FieldEmbeddings }>,
  training: boolean,
): Map<string, Value> {
  const logits = new Map<string, Value>();
  const hidden = new Map<string, { value: Value; width: number }>();
  for (const t of spec.towers) {
    const b = bottoms.get(t.embeddings)!;
    const tc = resolveTower(cfg, t.name);
    const tctx: BlockContext = { ...ctx, activation: tc.activation, dropout: training ? tc.dropout : 0 };
    // model.towers.NAME.lr_scale also scales what the tower sends back into the shared bottom and
    // embeddings (the dense step is scaled by the optimizer, train/lr-scales.ts): slowing only the
    // tower's own weights left ESCM2's clicked-row risk memorising through the embeddings (issue 17).
    const lrScale = cfg.towers[t.name]?.lr_scale ?? 1;
    const input = training ? scaleGradient(ctx.g, b.perTower.get(t.name)!, lrScale) : b.perTower.get(t.name)!;
    const out = getTower(tc.type)({ ctx: tctx, name: t.name, input, width: b.width, fields: b.fields, cfg: tc });
    let h = out.hidden;
    if (t.transferFrom !== undefined) {
      const prev = hidden.get(t.transferFrom);
      if (prev === undefined) throw new Error(`tower '${t.name}' transfers from '${t.transferFrom}', which is not declared before it`);
      h = aitModule(ctx, `ait_${t.name}`, prev.value, prev.width, h, out.width);
    }
    hidden.set(t.name, { value: h, width: out.width });
    const head = dense(ctx, `tower_${t.name}/head`, h, out.width, 1);
    let logit = out.logitTerm === undefined ? head : ctx.g.add(head, out.logitTerm);
    if (tc.inner_product !== undefined) {
      const key = cfg.towers[t.name]?.inner_product !== undefined ? `model.towers.${t.name}.inner_product` : 'model.inner_product';
      logit = ctx.g.add(logit, innerProductTerm(ctx, `tower_${t.name}/inner_product`, b.fields, tc.inner_product, key));
    }
    if (t.logitBase !== undefined) {
      const base = logits.get(t.logitBase);
      if (base === undefined) throw new Error(`tower '${t.name}' adds the logit of '${t.logitBase}', which is not declared before it`);
      logit = ctx.g.add(logit, base);
    }
    logits.set(t.name, logit);
  }
  return logits;
}
