import { UserError } from '../errors.js';

/**
 * The entry `name` of a registry map (MODELS, TOWERS, BOTTOMS), or a UserError that names the
 * config key and the known names. Config loading already refuses unknown names; this guards
 * callers that build specs or graphs from hand-made configs.
 */
export function registryEntry<T>(map: Record<string, T>, name: string, what: string, key: string): T {
  if (!Object.hasOwn(map, name)) throw new UserError(`unknown ${what} '${name}'; known: ${Object.keys(map).join(', ')}`, { key });
  return map[name]!;
}
