/** lvsform's own package.json (its version, and the tool versions `lvsform init` writes), from source or from dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseJsonStrict } from '../providers/ipvs/model/strict-json.ts';

export interface PackageInfo {
  readonly version: string;
  readonly devDependencies: Record<string, string>;
  /** Where the documentation is (package.json's `homepage`). */
  readonly homepage: string;
}

let cached: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  if (cached) return cached;
  for (const rel of ['../package.json', '../../package.json']) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(file)) continue;
    const pkg = parseJsonStrict(readFileSync(file, 'utf8')) as { name?: string; version?: string; devDependencies?: Record<string, string>; homepage?: string };
    if (pkg.name !== 'lvsform' || typeof pkg.version !== 'string') continue;
    cached = { version: pkg.version, devDependencies: pkg.devDependencies ?? {}, homepage: pkg.homepage ?? 'https://github.com/lvsform/lvsform#readme' };
    return cached;
  }
  throw new Error('lvsform cannot find its own package.json');
}
