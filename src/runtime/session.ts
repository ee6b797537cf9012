/**
 * A thin wrapper over an onnxruntime-node InferenceSession for graphs built by src/graph.
 *
 * Facts that shape it (DESIGN.md): `run` blocks the event loop for the whole native call;
 * tensor data may not live in a SharedArrayBuffer; tensors wrap typed arrays by reference (a
 * weight updated in place is seen by the next run, no copy); passing `{ name: Tensor }` as
 * fetches makes ORT write into our buffer, which `runInto` uses to reuse output buffers.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  /** Intra-op threads; default os.availableParallelism(). */
  intraOpThreads?: number;
}

export type TensorData = Float32Array | Float64Array | BigInt64Array | Uint8Array;
export type Feed = Float32Array | { data: TensorData; dims: number[] };
export type Feeds = Record<string, Feed>;
export interface TensorOut {
  data: TensorData;
  dims: number[];
}

type Declared = { type: string; shape: readonly (number | string)[] };

export class GraphSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly declaredInputs = new Map<string, Declared>();
  private readonly declaredOutputs = new Map<string, Declared>();
  /** Output tensors wrapping caller buffers, reused while buffer and dims stay the same. */
  private readonly outputTensors = new Map<string, { buffer: Float32Array; dimsKey: string; tensor: ort.Tensor }>();

  private constructor(private readonly session: ort.InferenceSession) {
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
    for (const m of session.inputMetadata) if (m.isTensor) this.declaredInputs.set(m.name, { type: m.type, shape: m.shape });
    for (const m of session.outputMetadata) if (m.isTensor) this.declaredOutputs.set(m.name, { type: m.type, shape: m.shape });
  }

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<GraphSession> {
    const session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: opts.intraOpThreads ?? os.availableParallelism(),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new GraphSession(session);
  }

  /** Runs the graph and returns the fetched outputs (all by default) as float32 arrays. */
  async run(feeds: Feeds, fetch?: string[]): Promise<Record<string, Float32Array>> {
    const out = await this.runTensors(feeds, fetch);
    const result: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(out)) {
      // Non-float32 outputs (float64 graphs, int64 or bool results) are converted elementwise.
      result[name] = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number | bigint>, Number);
    }
    return result;
  }

  /** Like run, but keeps each output's own element type and its dims (float64 graphs, tests). */
  async runTensors(feeds: Feeds, fetch?: string[]): Promise<Record<string, TensorOut>> {
    const { tensors } = this.feedTensors(feeds);
    const names = fetch ?? this.outputNames;
    names.forEach((n) => this.requireOutput(n));
    const res = await this.session.run(tensors, names);
    const out: Record<string, TensorOut> = {};
    for (const n of names) {
      const t = res[n] as ort.Tensor;
      out[n] = { data: t.data as TensorData, dims: [...t.dims] };
    }
    return out;
  }

  /**
   * Fast path for training loops: ORT writes the named outputs straight into the given buffers
   * (no allocation per step). Symbolic output dims are solved from the feeds; a buffer of the
   * wrong size throws. Outputs not named are not computed unless other outputs need them.
   */
  async runInto(feeds: Feeds, outputs: Record<string, Float32Array>): Promise<void> {
    const { tensors, symbols } = this.feedTensors(feeds);
    const fetches: Record<string, ort.Tensor> = {};
    for (const [name, buffer] of Object.entries(outputs)) {
      const decl = this.requireOutput(name);
      const dims = solveDims(`output '${name}'`, decl.shape, buffer.length, symbols);
      const dimsKey = dims.join(',');
      let cached = this.outputTensors.get(name);
      if (!cached || cached.buffer !== buffer || cached.dimsKey !== dimsKey) {
        cached = { buffer, dimsKey, tensor: new ort.Tensor('float32', buffer, dims) };
        this.outputTensors.set(name, cached);
      }
      fetches[name] = cached.tensor;
    }
    await this.session.run(tensors, fetches);
  }

  async release(): Promise<void> {
    this.outputTensors.clear();
    await this.session.release();
  }

  private requireOutput(name: string): Declared {
    const decl = this.declaredOutputs.get(name);
    if (!decl) throw new Error(`GraphSession: no output '${name}' (have ${this.outputNames.join(', ')})`);
    return decl;
  }

  private feedTensors(feeds: Feeds): { tensors: Record<string, ort.Tensor>; symbols: Map<string, number> } {
    const symbols = new Map<string, number>();
    const tensors: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const feed = feeds[name];
      if (feed === undefined) throw new Error(`GraphSession: missing feed '${name}'`);
      const decl = this.declaredInputs.get(name)!;
      const data = feed instanceof Float32Array ? feed : feed.data;
      if (data.buffer instanceof SharedArrayBuffer) {
        throw new Error(`GraphSession: feed '${name}' lives in a SharedArrayBuffer, which onnxruntime rejects; copy or transfer it`);
      }
      let dims: number[];
      if (feed instanceof Float32Array) {
        dims = solveDims(`feed '${name}'`, decl.shape, feed.length, symbols);
      } else {
        dims = feed.dims;
        bindSymbols(`feed '${name}'`, decl.shape, dims, symbols);
      }
      tensors[name] = new ort.Tensor(tensorType(data, decl.type), data, dims);
    }
    return { tensors, symbols };
  }
}

/** ORT tensor type of a typed array; Uint8Array is 'bool' when the graph declares a bool input. */
function tensorType(data: TensorData, declared: string): ort.Tensor.Type {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  return declared === 'bool' ? 'bool' : 'uint8';
}

function bindSymbols(what: string, declared: readonly (number | string)[], dims: number[], symbols: Map<string, number>): void {
  if (declared.length !== dims.length) throw new Error(`GraphSession: ${what} has dims [${dims}], graph declares [${declared}]`);
  declared.forEach((d, i) => {
    if (typeof d === 'number') {
      if (d !== dims[i]) throw new Error(`GraphSession: ${what} has dims [${dims}], graph declares [${declared}]`);
      return;
    }
    const bound = symbols.get(d);
    if (bound !== undefined && bound !== dims[i]) {
      throw new Error(`GraphSession: ${what} sets '${d}' = ${dims[i]}, an earlier feed set it to ${bound}`);
    }
    symbols.set(d, dims[i]!);
  });
}

/** Dims for a flat buffer: known symbols substituted, at most one unknown solved from the length. */
function solveDims(what: string, declared: readonly (number | string)[], length: number, symbols: Map<string, number>): number[] {
  let known = 1;
  let unknownAt = -1;
  const dims = declared.map((d, i) => {
    const v = typeof d === 'number' ? d : symbols.get(d);
    if (v === undefined) {
      if (unknownAt >= 0) throw new Error(`GraphSession: ${what} has two unsolved dims in [${declared}]; pass { data, dims }`);
      unknownAt = i;
      return -1;
    }
    known *= v;
    return v;
  });
  if (unknownAt >= 0) {
    const solved = known === 0 ? 0 : length / known;
    if (!Number.isInteger(solved)) throw new Error(`GraphSession: ${what} has ${length} values, not a multiple of ${known} for [${declared}]`);
    dims[unknownAt] = solved;
    symbols.set(declared[unknownAt] as string, solved);
  } else if (known !== length) {
    throw new Error(`GraphSession: ${what} has ${length} values, shape [${dims}] needs ${known}`);
  }
  return dims;
}
