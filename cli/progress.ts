/**
 * Progress on stderr for waits: each director's current step ("connecting to lb1 (root@203.0.113.2)",
 * "reading the live table: 40,000 destinations declared") is printed once it has lasted `delayMs` (about 2 s), on a
 * terminal and in CI alike; quick steps print nothing, so short runs stay quiet.
 */
import { colors } from './colors.ts';

export interface Progress {
  /** A new step for `director`; replaces its previous one. */
  step(director: string, message: string): void;
  /** `director` waits on nothing now (its step ended). */
  idle(director: string): void;
  /** No step is pending any more. */
  stop(): void;
}

export function delayedProgress(write: (line: string) => void = (l) => process.stderr.write(l), delayMs = 2000): Progress {
  const timers = new Map<string, NodeJS.Timeout>();
  return {
    step(director, message) {
      clearTimeout(timers.get(director));
      const timer = setTimeout(() => write(colors().dim(`${director}: ${message}…\n`)), delayMs);
      timer.unref();
      timers.set(director, timer);
    },
    idle(director) {
      clearTimeout(timers.get(director));
      timers.delete(director);
    },
    stop() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
