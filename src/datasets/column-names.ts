import { UserError } from '../errors.js';

/**
 * A plain identifier for a source column name, so that configs (YAML) and the generic reader
 * handle it without quoting: runs of characters other than letters, digits and '_' become one
 * '_', and a name starting with a digit gets an 'f' prefix (Ali-CCP's field '101' -> 'f101',
 * which YAML would otherwise read as a number).
 */
export function plainColumnName(name: string): string {
  const plain = name
    .trim()
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (plain === '') return 'col';
  return /^[0-9]/.test(plain) ? `f${plain}` : plain;
}

/** plainColumnName for each name; refuses two source columns that map to the same name. */
export function plainColumnNames(names: readonly string[], file?: string): string[] {
  const seen = new Map<string, string>();
  return names.map((name) => {
    const plain = plainColumnName(name);
    const earlier = seen.get(plain);
    if (earlier !== undefined) {
      throw new UserError(`columns '${earlier}' and '${name}' both become '${plain}'`, { file });
    }
    seen.set(plain, name);
    return plain;
  });
}
