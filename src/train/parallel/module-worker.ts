/**
 * Start a worker thread running one of esmm's own modules (which imports other esmm modules).
 *
 * From dist/ the module is plain JavaScript and the worker loads it by URL. From src/ (vitest runs
 * the TypeScript sources) a worker thread has no TypeScript loader, so the module and everything
 * it imports is bundled once per process into one CommonJS script with esbuild (which vitest
 * brings along; a published install never takes this path) and evaluated. onnxruntime-node stays
 * outside the bundle: the worker requires it by absolute path (workerData.ortPath).
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/** The part of esbuild's API used here (typed locally: esbuild is not a dependency of esmm). */
interface EsbuildLike {
  buildSync(o: Record<string, unknown>): { outputFiles: { text: string }[] };
}

const bundles = new Map<string, string>();

/**
 * A worker running `name` (a module next to `base`, given without extension: 'shard-worker'),
 * with `workerData`.
 */
export async function startModuleWorker(base: string, name: string, workerData: unknown): Promise<Worker> {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), { workerData });
  const entry = fileURLToPath(new URL(`./${name}.ts`, base));
  let code = bundles.get(entry);
  if (code === undefined) {
    const moduleName = 'esbuild'; // a variable, so tsc does not resolve a dependency esmm does not have
    const esbuild = (await import(moduleName)) as EsbuildLike;
    code = esbuild.buildSync({
      entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, external: ['onnxruntime-node'], logLevel: 'silent',
    }).outputFiles[0]!.text;
    bundles.set(entry, code);
  }
  return new Worker(code, { eval: true, workerData });
}
