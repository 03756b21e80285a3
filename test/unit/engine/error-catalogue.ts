/** docs/errors.md as the catalogue of `ERROR_CODES` writes it (`npx tsx test/unit/engine/error-catalogue.ts` rewrites it). */
import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CODES } from '../../../providers/ipvs/model/error-codes.ts';

export function renderCatalogue(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning.replaceAll('|', '\\|')} |`);
  return [
    '# Error codes',
    '',
    'Every error lvsform reports carries one of these codes: `Error [CODE]: message` on standard error, `{"error": {"code"…}}`',
    'with `--json`, and `error.code` in plan JSON and apply reports. A code never changes meaning. `--debug` also prints',
    'the causes behind an error. The table is `providers/ipvs/model/error-codes.ts`; a unit test keeps this file equal to it.',
    '',
    '| code | meaning |',
    '|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  fs.writeFileSync(path.resolve(import.meta.dirname, '../../../docs/errors.md'), renderCatalogue());
}
