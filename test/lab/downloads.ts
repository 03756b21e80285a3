/** Long downloads through a VIP, run with curl and read back from its `--write-out` lines (drain and failover tests). */

/** One download as curl reports it. */
export interface Download {
  /** The client's port: the connection's key in the director's table. */
  readonly port: number;
  readonly exitCode: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** curl's option that prints the line `parseDownloads` reads, one per download (for a shell command line). */
export const DOWNLOAD_WRITE_OUT = `--write-out 'dl %{local_port} %{exitcode} %{size_download} %{time_total}\\n'`;

/** The downloads in curl's output; throws with the output unless there are `expected` of them. */
export function parseDownloads(out: { readonly stdout: string; readonly stderr: string }, expected: number): Download[] {
  const downloads = [...out.stdout.matchAll(/^dl (\d+) (\d+) (\d+) ([\d.]+)$/gm)].map((m) => ({
    port: Number(m[1]),
    exitCode: Number(m[2]),
    bytes: Number(m[3]),
    seconds: Number(m[4]),
  }));
  if (downloads.length !== expected) throw new Error(`expected ${expected} downloads, got:\n${out.stdout}${out.stderr}`);
  return downloads;
}
