import type { ConfigChecker } from './check.js';
import { DEFAULT_GRADNORM, DEFAULT_MODEL } from './defaults.js';
import type { Schema } from '../data/schema.js';
import type { BottomConfig, FieldPooling, InnerProductSides, ModelConfig, TowerConfig } from './types.js';

const ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;

/**
 * The names `model.name`, `model.towers.NAME.type` and `model.bottom.type` may take: the keys of
 * the registries in models/ (api/load-config.ts passes them in, so config/ never imports models/).
 */
export interface RegistryNames {
  models: readonly string[];
  towers: readonly string[];
  bottoms: readonly string[];
}

/** The `model:` block: architecture, per-tower settings, pooling, loss weighting. */
export function parseModel(c: ConfigChecker, v: unknown, names: RegistryNames): ModelConfig {
  const o = c.object(v, 'model');
  c.onlyKeys(o, 'model', [
    'name', 'embedding_dim', 'tower', 'activation', 'dropout', 'bottom', 'loss_weights', 'loss_weighting', 'multi_valued_pooling',
    'towers', 'field_groups', 'pooling', 'aitm', 'escm2', 'gradnorm', 'inner_product', 'output_bias_init',
  ]);
  const m: ModelConfig = {
    ...DEFAULT_MODEL, bottom: { ...DEFAULT_MODEL.bottom }, loss_weights: {}, towers: {}, field_groups: {}, pooling: {},
    aitm: { ...DEFAULT_MODEL.aitm }, escm2: { ...DEFAULT_MODEL.escm2 },
  };
  if (o.name !== undefined) m.name = c.oneOf(o.name, 'model.name', names.models);
  if (o.embedding_dim !== undefined) m.embedding_dim = c.positiveInt(o.embedding_dim, 'model.embedding_dim');
  if (o.tower !== undefined) m.tower = c.intList(o.tower, 'model.tower');
  if (o.activation !== undefined) m.activation = c.oneOf(o.activation, 'model.activation', ACTIVATIONS);
  if (o.dropout !== undefined) m.dropout = c.number(o.dropout, 'model.dropout', { min: 0, max: 0.95 });
  if (o.loss_weighting !== undefined) m.loss_weighting = c.oneOf(o.loss_weighting, 'model.loss_weighting', ['fixed', 'uncertainty', 'gradnorm'] as const);
  if (o.multi_valued_pooling !== undefined) m.multi_valued_pooling = c.oneOf(o.multi_valued_pooling, 'model.multi_valued_pooling', ['sum', 'mean'] as const);
  if (o.loss_weights !== undefined) {
    const lw = c.object(o.loss_weights, 'model.loss_weights');
    for (const [k, w] of Object.entries(lw)) m.loss_weights[k] = c.number(w, `model.loss_weights.${k}`, { min: 0 });
  }
  if (o.bottom !== undefined) m.bottom = parseBottom(c, o.bottom, names.bottoms);
  if (o.towers !== undefined) {
    for (const [name, t] of Object.entries(c.object(o.towers, 'model.towers'))) m.towers[name] = parseTower(c, t, `model.towers.${name}`, names.towers);
  }
  if (o.field_groups !== undefined) m.field_groups = parseFieldGroups(c, o.field_groups);
  if (o.pooling !== undefined) {
    for (const [field, p] of Object.entries(c.object(o.pooling, 'model.pooling'))) m.pooling[field] = parsePooling(c, p, `model.pooling.${field}`);
  }
  if (o.inner_product !== undefined) m.inner_product = parseInnerProduct(c, o.inner_product, 'model.inner_product');
  if (o.aitm !== undefined) {
    const a = c.object(o.aitm, 'model.aitm');
    c.onlyKeys(a, 'model.aitm', ['alpha', 'transfer_dim']);
    if (a.alpha !== undefined) m.aitm.alpha = c.number(a.alpha, 'model.aitm.alpha', { min: 0 });
    if (a.transfer_dim !== undefined) m.aitm.transfer_dim = c.positiveInt(a.transfer_dim, 'model.aitm.transfer_dim');
  }
  if (o.gradnorm !== undefined) {
    const gn = c.object(o.gradnorm, 'model.gradnorm');
    c.onlyKeys(gn, 'model.gradnorm', ['alpha', 'lr']);
    m.gradnorm = { ...DEFAULT_GRADNORM };
    if (gn.alpha !== undefined) m.gradnorm.alpha = c.number(gn.alpha, 'model.gradnorm.alpha', { min: 0 });
    if (gn.lr !== undefined) m.gradnorm.lr = c.number(gn.lr, 'model.gradnorm.lr', { min: 0, exclusiveMin: true });
  }
  if (o.output_bias_init !== undefined) m.output_bias_init = c.oneOf(o.output_bias_init, 'model.output_bias_init', ['prior', 'zero'] as const);
  if (o.escm2 !== undefined) {
    const e = c.object(o.escm2, 'model.escm2');
    c.onlyKeys(e, 'model.escm2', ['propensity_floor', 'propensity_clip', 'self_normalize']);
    if (e.self_normalize !== undefined) m.escm2.self_normalize = c.boolean(e.self_normalize, 'model.escm2.self_normalize');
    if (e.propensity_floor !== undefined) m.escm2.propensity_floor = c.number(e.propensity_floor, 'model.escm2.propensity_floor', { min: 0, max: 1, exclusiveMin: true });
    if (e.propensity_clip !== undefined) m.escm2.propensity_clip = c.number(e.propensity_clip, 'model.escm2.propensity_clip', { min: 0, max: 1, exclusiveMin: true });
    if (m.escm2.propensity_clip < m.escm2.propensity_floor) c.fail('model.escm2.propensity_clip', `must be >= propensity_floor (${m.escm2.propensity_floor})`);
  }
  return m;
}

function parseBottom(c: ConfigChecker, v: unknown, types: readonly string[]): BottomConfig {
  const o = c.object(v, 'model.bottom');
  c.onlyKeys(o, 'model.bottom', ['type', 'hidden', 'experts', 'expert', 'task_experts', 'levels', 'cross_layers']);
  const b: BottomConfig = { type: c.oneOf(o.type, 'model.bottom.type', types) };
  if (o.cross_layers !== undefined) b.cross_layers = c.positiveInt(o.cross_layers, 'model.bottom.cross_layers');
  if (o.hidden !== undefined) b.hidden = c.intList(o.hidden, 'model.bottom.hidden');
  if (o.experts !== undefined) b.experts = c.positiveInt(o.experts, 'model.bottom.experts');
  if (o.expert !== undefined) b.expert = c.intList(o.expert, 'model.bottom.expert');
  if (o.task_experts !== undefined) b.task_experts = c.positiveInt(o.task_experts, 'model.bottom.task_experts');
  if (o.levels !== undefined) b.levels = c.positiveInt(o.levels, 'model.bottom.levels');
  return b;
}

function parseTower(c: ConfigChecker, v: unknown, key: string, types: readonly string[]): TowerConfig {
  const o = c.object(v, key);
  c.onlyKeys(o, key, ['type', 'sizes', 'activation', 'dropout', 'norm', 'cross_layers', 'inner_product', 'lr_scale']);
  if (o.cross_layers !== undefined && o.type !== 'dcn') c.fail(`${key}.cross_layers`, "only a tower of type 'dcn' has cross layers");
  const t: TowerConfig = { type: o.type === undefined ? 'mlp' : c.oneOf(o.type, `${key}.type`, types) };
  if (o.sizes !== undefined) t.sizes = c.intList(o.sizes, `${key}.sizes`);
  if (o.cross_layers !== undefined) t.cross_layers = c.positiveInt(o.cross_layers, `${key}.cross_layers`);
  if (o.inner_product !== undefined) t.inner_product = parseInnerProduct(c, o.inner_product, `${key}.inner_product`);
  if (o.activation !== undefined) t.activation = c.oneOf(o.activation, `${key}.activation`, ACTIVATIONS);
  if (o.dropout !== undefined) t.dropout = c.number(o.dropout, `${key}.dropout`, { min: 0, max: 0.95 });
  if (o.lr_scale !== undefined) t.lr_scale = c.number(o.lr_scale, `${key}.lr_scale`, { min: 0, max: 100, exclusiveMin: true });
  if (o.norm !== undefined) {
    if (o.norm === 'batch') c.fail(`${key}.norm`, 'batch norm is not available (it needs running statistics at inference); use layer');
    t.norm = c.oneOf(o.norm, `${key}.norm`, ['none', 'layer'] as const);
  }
  return t;
}

function parseInnerProduct(c: ConfigChecker, v: unknown, key: string): InnerProductSides {
  const o = c.object(v, key);
  c.onlyKeys(o, key, ['user', 'item']);
  const user = c.stringList(o.user, `${key}.user`);
  const item = c.stringList(o.item, `${key}.item`);
  if (user.length === 0) c.fail(`${key}.user`, 'list at least one user-side field');
  if (item.length === 0) c.fail(`${key}.item`, 'list at least one item-side field');
  return { user, item };
}

function parseFieldGroups(c: ConfigChecker, v: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const seen = new Set<string>();
  for (const [name, fields] of Object.entries(c.object(v, 'model.field_groups'))) {
    const list = c.stringList(fields, `model.field_groups.${name}`);
    if (list.length === 0) c.fail(`model.field_groups.${name}`, 'a group needs at least one field');
    for (const f of list) {
      if (seen.has(f)) c.fail(`model.field_groups.${name}`, `field '${f}' is in two groups`);
      seen.add(f);
    }
    out[name] = list;
  }
  return out;
}

function parsePooling(c: ConfigChecker, v: unknown, key: string): FieldPooling {
  if (typeof v === 'string') return { type: c.oneOf(v, key, ['sum', 'mean'] as const) };
  const o = c.object(v, key);
  c.onlyKeys(o, key, ['type', 'target', 'max_len']);
  const type = c.oneOf(o.type, `${key}.type`, ['sum', 'mean', 'attention'] as const);
  if (type !== 'attention') {
    if (o.target !== undefined) c.fail(`${key}.target`, 'only attention pooling takes a target');
    if (o.max_len !== undefined) c.fail(`${key}.max_len`, 'only attention pooling takes a max_len');
    return { type };
  }
  const target = c.string(o.target, `${key}.target`);
  return o.max_len === undefined ? { type, target } : { type, target, max_len: c.positiveInt(o.max_len, `${key}.max_len`) };
}

/** Field names in model.field_groups and model.pooling must be features of the schema. */
export function checkModelFields(c: ConfigChecker, m: ModelConfig, schema: Schema): void {
  const multi = new Set((schema.multi_valued ?? []).map((f) => f.name));
  const embedded = new Set([...schema.categorical, ...multi]);
  for (const [name, fields] of Object.entries(m.field_groups)) {
    fields.forEach((f, i) => {
      if (!embedded.has(f)) c.fail(`model.field_groups.${name}[${i}]`, `'${f}' is not a categorical or multi-valued field of the schema`);
    });
  }
  // Inner-product sides name embedded fields or field groups (the slots after field-wise pooling).
  const slots = new Set([...embedded, ...Object.keys(m.field_groups)]);
  const sides: [string, InnerProductSides | undefined][] = [['model.inner_product', m.inner_product], ...Object.entries(m.towers).map(([n, t]): [string, InnerProductSides | undefined] => [`model.towers.${n}.inner_product`, t.inner_product])];
  for (const [key, ip] of sides) {
    if (ip === undefined) continue;
    for (const which of ['user', 'item'] as const) {
      ip[which].forEach((f, i) => {
        if (!slots.has(f)) c.fail(`${key}.${which}[${i}]`, `'${f}' is not a categorical or multi-valued field of the schema, nor a field group`);
        const group = Object.entries(m.field_groups).find(([, fs]) => fs.includes(f));
        if (group !== undefined) c.fail(`${key}.${which}[${i}]`, `'${f}' is pooled into field group '${group[0]}': name the group`);
      });
    }
  }
  for (const [field, p] of Object.entries(m.pooling)) {
    if (!multi.has(field)) c.fail(`model.pooling.${field}`, `'${field}' is not a multi-valued field of the schema`);
    if (p.type === 'attention' && !schema.categorical.includes(p.target)) {
      c.fail(`model.pooling.${field}.target`, `'${p.target}' is not a single-valued categorical field (the candidate item)`);
    }
  }
}
