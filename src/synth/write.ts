/**
 * Write simulated rows as train/valid/test CSV plus synth.json. Each file goes to a temporary
 * name first and is renamed when complete, so an interrupted run leaves no half-written file.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import type { SynthConfigInput } from './config.js';
import { SYNTH_FEATURE_COLUMNS, SYNTH_LABEL_COLUMNS, SYNTH_TRUTH_COLUMNS, stageTruthColumn } from './schema.js';
import { simulate, type SynthResult } from './simulate.js';
import { funnelStats, type SynthSummary } from './stats.js';

/** Lines joined per write call: large enough to amortise stream overhead. */
const LINES_PER_WRITE = 8192;

export async function writeSynth(outDir: string, input: SynthConfigInput = {}): Promise<SynthSummary> {
  const result = simulate(input);
  return writeSynthResult(outDir, result);
}

/** Write an already simulated result (lets callers inspect the columns and the files). */
export async function writeSynthResult(outDir: string, r: SynthResult): Promise<SynthSummary> {
  const dir = resolve(outDir);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new UserError(`cannot create output directory: ${(e as Error).message}`, { file: dir });
  }
  const files = {
    train: join(dir, 'train.csv'),
    valid: join(dir, 'valid.csv'),
    test: join(dir, 'test.csv'),
    meta: join(dir, 'synth.json'),
  };
  const text = new RowText(r);
  await writeCsv(files.train, text, r.split.train, false);
  await writeCsv(files.valid, text, r.split.valid, true);
  await writeCsv(files.test, text, r.split.test, true);
  const summary: SynthSummary = {
    outDir: dir,
    files,
    config: r.config,
    intercepts: r.intercepts,
    stats: {
      all: funnelStats(r),
      train: funnelStats(r, ...r.split.train),
      valid: funnelStats(r, ...r.split.valid),
      test: funnelStats(r, ...r.split.test),
    },
  };
  const meta = {
    generator: 'esmm synth',
    ...summary,
    columns: {
      features: SYNTH_FEATURE_COLUMNS,
      labels: r.config.stages.length > 0 ? r.config.stages : SYNTH_LABEL_COLUMNS,
      truth: SYNTH_TRUTH_COLUMNS,
      truthIn: ['valid.csv', 'test.csv'],
    },
  };
  await atomicWrite(files.meta, async (tmp) => writeFile(tmp, JSON.stringify(meta, null, 2) + '\n'));
  return summary;
}

/** Per-user and per-item cell text, computed once so building a line is concatenation only. */
class RowText {
  /** `u<id>,` per user. */
  private readonly userId: string[];
  /** `i<id>,c<category>,` per item. */
  private readonly itemIdCategory: string[];
  /** `s<segment>,` per user. */
  private readonly segment: string[];
  /** `p<position>,` (1-based) per position. */
  private readonly positions: string[];
  /** `c3|c7` per user. */
  private readonly recent: string[];
  private readonly price: string[];
  private readonly activity: string[];

  constructor(private readonly r: SynthResult) {
    const w = r.world;
    this.userId = Array.from(w.userSegment, (_, u) => `u${u},`);
    this.itemIdCategory = Array.from(w.itemCategory, (c, i) => `i${i},c${c},`);
    this.segment = Array.from(w.userSegment, (s) => `s${s},`);
    this.positions = Array.from({ length: r.config.positions }, (_, p) => `p${p + 1},`);
    this.recent = Array.from(w.userSegment, (_, u) => {
      const cats: string[] = [];
      for (let j = w.recentOffsets[u]!; j < w.recentOffsets[u + 1]!; j++) cats.push(`c${w.recentCats[j]}`);
      return cats.join('|');
    });
    this.price = Array.from(w.itemPrice, (p) => p.toFixed(2));
    this.activity = Array.from(w.userActivity, (a) => a.toFixed(3));
  }

  header(truth: boolean): string {
    const stages = this.r.config.stages;
    const cols: string[] = [...SYNTH_FEATURE_COLUMNS, ...(stages.length > 0 ? stages : SYNTH_LABEL_COLUMNS)];
    if (truth) cols.push(...SYNTH_TRUTH_COLUMNS, ...stages.slice(1).map(stageTruthColumn));
    return cols.join(',') + '\n';
  }

  /** Label cells after the features: click,cart,buy or, in chain mode, one per stage. */
  private labels(i: number): string {
    const r = this.r;
    if (r.chain === undefined) return r.click[i]! + ',' + r.cart[i]! + ',' + r.buy[i]!;
    let s = String(r.click[i]!);
    for (const l of r.chain.labels) s += ',' + l[i]!;
    return s;
  }

  line(i: number, truth: boolean): string {
    const r = this.r;
    const u = r.user[i]!;
    const it = r.item[i]!;
    let s =
      this.userId[u]! +
      this.itemIdCategory[it]! +
      this.segment[u]! +
      this.positions[r.position[i]!]! +
      this.recent[u]! +
      ',' +
      this.price[it]! +
      ',' +
      this.activity[u]! +
      ',' +
      this.labels(i);
    if (truth) {
      s +=
        ',' +
        r.truePctr[i]!.toPrecision(7) +
        ',' +
        r.truePcvr[i]!.toPrecision(7) +
        ',' +
        r.truePctcvr[i]!.toPrecision(7) +
        ',' +
        r.potentialBuy[i]!;
      if (r.chain !== undefined) for (const t of r.chain.truth) s += ',' + t[i]!.toPrecision(7);
    }
    return s + '\n';
  }
}

async function writeCsv(file: string, text: RowText, [start, end]: [number, number], truth: boolean): Promise<void> {
  await atomicWrite(file, async (tmp) => {
    const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    failed.catch(() => undefined); // observed through the races below; never unhandled
    const write = async (chunk: string): Promise<void> => {
      if (!out.write(chunk)) await Promise.race([new Promise<void>((ok) => out.once('drain', () => ok())), failed]);
    };
    await write(text.header(truth));
    for (let lo = start; lo < end; lo += LINES_PER_WRITE) {
      const hi = Math.min(end, lo + LINES_PER_WRITE);
      let chunk = '';
      for (let i = lo; i < hi; i++) chunk += text.line(i, truth);
      await write(chunk);
    }
    await Promise.race([new Promise<void>((ok) => out.end(ok)), failed]);
  });
}

async function atomicWrite(file: string, fill: (tmp: string) => Promise<unknown>): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await fill(tmp);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    if (err.code !== undefined) throw new UserError(`cannot write: ${err.message}`, { file });
    throw e;
  }
}
