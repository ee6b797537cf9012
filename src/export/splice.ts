/**
 * Joins two encoded ONNX models into one: `front` computes some of `back`'s inputs (matched by
 * name: an output of front named like an input of back feeds it). Front's internal names get a
 * prefix so they cannot collide with back's; its nodes come first, so the joined node list stays
 * topologically sorted.
 */
import onnxpkg from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';

const { onnx } = onnxpkg;

export interface SpliceOptions {
  /** Prefix for front's internal value, node and initializer names. */
  prefix: string;
  metadata?: Record<string, string>;
  docString?: string;
}

export function spliceModels(frontBytes: Uint8Array, backBytes: Uint8Array, opts: SpliceOptions): Uint8Array {
  const front = onnx.ModelProto.decode(frontBytes);
  const back = onnx.ModelProto.decode(backBytes);
  const fg = front.graph!;
  const bg = back.graph!;
  const fed = new Set((fg.output ?? []).map((o) => o.name!));
  const keep = new Set([...(fg.input ?? []).map((i) => i.name!), ...fed]);
  const rename = (n: string): string => (n === '' || keep.has(n) ? n : `${opts.prefix}${n}`);

  const backInputs = (bg.input ?? []).filter((i) => !fed.has(i.name!));
  const missing = [...fed].filter((n) => !(bg.input ?? []).some((i) => i.name === n));
  if (missing.length > 0) throw new Error(`spliceModels: back model has no input(s) ${missing.join(', ')}`);
  const frontInputNames = new Set((fg.input ?? []).map((i) => i.name!));
  for (const i of backInputs) {
    if (frontInputNames.has(i.name!)) throw new Error(`spliceModels: input '${i.name}' is declared by both models`);
  }

  const nodes: proto.INodeProto[] = [
    ...(fg.node ?? []).map((n) => ({ ...n, name: `${opts.prefix}${n.name ?? ''}`, input: (n.input ?? []).map(rename), output: (n.output ?? []).map(rename) })),
    ...(bg.node ?? []),
  ];
  const model: proto.IModelProto = {
    irVersion: back.irVersion,
    producerName: back.producerName,
    opsetImport: back.opsetImport,
    functions: back.functions,
    ...(opts.docString !== undefined ? { docString: opts.docString } : {}),
    metadataProps: [...(back.metadataProps ?? []), ...Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value }))],
    graph: {
      name: bg.name,
      node: nodes,
      input: [...(fg.input ?? []), ...backInputs],
      output: bg.output,
      initializer: [...(fg.initializer ?? []).map((t) => ({ ...t, name: rename(t.name!) })), ...(bg.initializer ?? [])],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
