export { startServer, isLoopback, DEFAULT_MAX_BODY, DEFAULT_MAX_INFLIGHT_REQUESTS, DEFAULT_MAX_INFLIGHT_ROWS, DEFAULT_SHUTDOWN_TIMEOUT_MS } from './server.js';
export type { ServerOptions, RunningServer } from './server.js';
export { Scorer } from './scorer.js';
export type { ScorerOptions } from './scorer.js';
