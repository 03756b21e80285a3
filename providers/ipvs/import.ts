/**
 * `lvsform import`: read an existing IPVS configuration from somewhere (an ipvsadm-save file, a keepalived.conf) into
 * the canonical table, then write it as an lvsform app. `importTable` is the one place that knows the sources, so a
 * new one (a live director over a transport, adoption) is one more case here and one more option in the CLI.
 */
import { readFile, stat } from 'node:fs/promises';
import { LvsError } from './errors.ts';
import { type GeneratedDirector, generateApp } from './generate-app.ts';
import type { Table } from './model.ts';
import { MAX_KEEPALIVED_BYTES, parseKeepalived } from './parse-keepalived.ts';
import { parseSave } from './parse-save.ts';

/** Where the table comes from. */
export type ImportSource =
  | { readonly kind: 'save'; readonly file: string }
  | { readonly kind: 'keepalived'; readonly file: string };

export interface ImportedTable {
  readonly table: Table;
  /** What the source holds that the table does not (each `file:line: ...`). */
  readonly warnings: string[];
  /** The source in words, for the header of the generated app. */
  readonly description: string;
}

/** Stack and director names: they name directories and files on each host (the construct library's rule). */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

async function readText(file: string, what: string): Promise<string> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new LvsError('LVS_IMPORT_READ', `${file} is not a file`, { hint: `Pass the ${what} file itself.` });
    if (info.size > MAX_KEEPALIVED_BYTES) {
      throw new LvsError('LVS_IMPORT_READ', `${file} is ${info.size} bytes; the import reads at most ${MAX_KEEPALIVED_BYTES}`, {
        hint: `Is this really a ${what} file?`,
      });
    }
    return await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof LvsError) throw e;
    throw new LvsError('LVS_IMPORT_READ', `cannot read ${file}: ${(e as Error).message}`, { cause: e, hint: `Check the path of the ${what} file.` });
  }
}

/** Reads the source into the canonical table. */
export async function importTable(source: ImportSource): Promise<ImportedTable> {
  switch (source.kind) {
    case 'save': {
      const text = await readText(source.file, 'ipvsadm-save');
      return { table: parseSave(text, source.file), warnings: [], description: `the ipvsadm-save file ${source.file}` };
    }
    case 'keepalived': {
      const text = await readText(source.file, 'keepalived.conf');
      const { table, warnings } = parseKeepalived(text, source.file);
      return { table, warnings, description: `the keepalived configuration ${source.file}` };
    }
  }
}

export interface ImportAppOptions {
  readonly stack: string;
  readonly director: GeneratedDirector;
  /** @default 'lvsform' */
  readonly importFrom?: string;
}

/** Reads the source and returns the app text and the warnings. Throws `LVS_USAGE` on a bad stack or director name. */
export async function importApp(source: ImportSource, opts: ImportAppOptions): Promise<{ code: string; warnings: string[]; table: Table }> {
  for (const [what, value] of [['stack', opts.stack], ['director', opts.director.name]] as const) {
    if (!SAFE_NAME.test(value)) {
      throw new LvsError('LVS_USAGE', `the ${what} name must match ${SAFE_NAME}; got ${JSON.stringify(value)}`, {
        hint: 'Letters, digits, "_", "." and "-", starting with a letter or digit (it names files on each host).',
      });
    }
  }
  const imported = await importTable(source);
  const code = generateApp(imported.table, {
    stack: opts.stack,
    director: opts.director,
    source: imported.description,
    notes: imported.warnings.length > 0 ? ['Not imported or changed on the way:', ...imported.warnings] : [],
    ...(opts.importFrom !== undefined ? { importFrom: opts.importFrom } : {}),
  });
  return { code, warnings: imported.warnings, table: imported.table };
}
