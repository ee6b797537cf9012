export { startServer, DEFAULT_MAX_BODY } from './server.js';
export type { ServerOptions, RunningServer } from './server.js';
export { Scorer } from './scorer.js';
export type { ScorerOptions } from './scorer.js';
