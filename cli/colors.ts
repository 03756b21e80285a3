/**
 * Colour, decided the same way for every command: picocolors' own detection (NO_COLOR and --no-color turn colour off;
 * FORCE_COLOR, --color, a terminal on stdout or CI turn it on), and off for --json and after `--no-color` was parsed.
 */
import pc from 'picocolors';

let off = false;

/** Called by main() for each run: `--no-color` on the command line turns colour off for that run. */
export function setNoColor(value: boolean): void {
  off = value;
}

export function colorsEnabled(json = false): boolean {
  return pc.isColorSupported && !off && !json;
}

export function colors(json = false): ReturnType<typeof pc.createColors> {
  return pc.createColors(colorsEnabled(json));
}
