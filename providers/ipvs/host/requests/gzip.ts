/**
 * Compression on the way back, for the reads of /proc and the stored files that grow with the table: the shell test
 * that sets `$lvs_gz` (gzip and base64 on the host), the command that prints a file compressed when it can, and the
 * decoder. Shared by the `fast-read` and `proc` requests.
 */
import { gunzipSync } from 'node:zlib';

/** Sets `lvs_gz=1` when the host has gzip and base64 (the shell's `command -v`: no process starts). */
export const GZ_TEST = 'if command -v gzip >/dev/null 2>&1 && command -v base64 >/dev/null 2>&1; then lvs_gz=1; else lvs_gz=0; fi';

const GZ_MARK = '@@gz';

/**
 * Prints FILE gzip-compressed and base64-encoded when the host has gzip (first line `@@gz`), else as it is. For a small
 * read (`compress` false) the two extra processes cost more than the bytes they save: it is printed as it is.
 */
export function compressed(file: string, compress = true): string {
  if (!compress) return `cat ${file}`;
  // Level 1: the director's CPU (an emulated one in the lab) is the slow part, not the few extra bytes.
  return `if [ "$lvs_gz" = 1 ]; then echo "${GZ_MARK}"; gzip -1 -c ${file} | base64; else cat ${file}; fi`;
}

/** Undoes `compressed`. */
export function decodeSection(text: string): string {
  if (!text.startsWith(`${GZ_MARK}\n`)) return text;
  return gunzipSync(Buffer.from(text.slice(GZ_MARK.length + 1), 'base64')).toString('utf8');
}
