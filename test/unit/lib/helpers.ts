import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, Director, LvsStack } from '../../../lib/index.ts';

/** A fresh temporary directory for an app's outdir. */
export function tempOutdir(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-test-')), 'out');
}

/** An app with stack `web` and director `lb1` (ssh to a documentation address), synthesizing into a temp dir. */
export function fixture(): { app: App; stack: LvsStack; lb1: Director; outdir: string } {
  const outdir = tempOutdir();
  const app = new App({ outdir });
  const stack = new LvsStack(app, 'web');
  const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root' } });
  return { app, stack, lb1, outdir };
}

/** Synthesizes the app and returns the parsed cdk.tf.json of `stack`. */
export function synthJson(app: App, outdir: string, stack = 'web'): any {
  app.synth();
  return JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
}

/** The only resource of `type` in a synthesized stack. */
export function onlyResource(json: any, type: string): any {
  const all = Object.values(json.resource[type] ?? {});
  if (all.length !== 1) throw new Error(`expected one ${type}, got ${all.length}`);
  return all[0];
}

/** Every file under `dir` (relative paths), or [] when it does not exist. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}
