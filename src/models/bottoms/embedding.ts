import type { Bottom } from './bottom.js';

/** The ESMM paper's bottom: every tower reads the (shared) embeddings directly. */
export const embeddingBottom: Bottom = ({ input, width, towers }) => ({
  perTower: new Map(towers.map((t) => [t, input])),
  width,
});
