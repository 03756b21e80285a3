/** `--debug`: print an error's cause chain, and where each director's time went. */
let enabled = false;

export function setDebug(on: boolean): void {
  enabled = on;
}

export function debugEnabled(): boolean {
  return enabled;
}

/** One line on standard error when `--debug` is on. */
export function debugLine(text: string): void {
  if (enabled) process.stderr.write(`debug: ${text}\n`);
}
