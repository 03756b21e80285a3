import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../../fixtures/ipvsadm/', import.meta.url));

/** A file captured from the real kernel by scripts/capture-fixtures.sh. */
export function fixture(name: string): string {
  return readFileSync(dir + name, 'utf8');
}
