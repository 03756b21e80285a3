import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from 'lvsform';
import { build as directRouting } from '../../../examples/direct-routing/app.ts';
import { build as dualStackFwmark } from '../../../examples/dual-stack-fwmark/app.ts';
import { build as natWeb } from '../../../examples/nat-web/app.ts';
import { build as tunnel } from '../../../examples/tunnel/app.ts';
import { build as twoDirectors } from '../../../examples/two-directors/app.ts';
import { build as directorPair } from '../../../examples/director-pair/app.ts';

// Golden cdk.tf.json per example, compared byte for byte. Regenerate on purpose with: UPDATE_GOLDEN=1 npx vitest run --project unit test/unit/examples
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const golden = (name: string) => path.join(here, '__golden__', `${name}.cdk.tf.json`);
const examples = [
  ['nat-web', natWeb],
  ['direct-routing', directRouting],
  ['tunnel', tunnel],
  ['dual-stack-fwmark', dualStackFwmark],
  ['two-directors', twoDirectors],
  ['director-pair', directorPair],
] as const;

function synth(build: (app: App) => unknown, stack: string): Buffer {
  const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-example-')), 'out');
  const app = new App({ outdir });
  build(app);
  app.synth();
  return fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'));
}

describe('examples', () => {
  beforeEach(() => {
    for (const v of ['LVSFORM_SSH_CONFIG', 'LVSFORM_DIRECTOR_ALIAS', 'LVSFORM_DIRECTOR_ALIAS_2']) vi.stubEnv(v, undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(examples)('%s synthesizes to its golden cdk.tf.json', (name, build) => {
    // GIVEN the example app, reaching its directors on documentation addresses
    // WHEN it is synthesized
    const actual = synth(build, name);
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden(name), actual);
    // THEN the output equals the checked-in golden file byte for byte
    expect(actual.toString('utf8')).toBe(fs.readFileSync(golden(name), 'utf8'));
  });

  it('reaches the directors through the lab ssh config and aliases when the env names them', () => {
    // GIVEN the lab's ssh config and two aliases in the environment
    vi.stubEnv('LVSFORM_SSH_CONFIG', '/lab/ssh_config');
    vi.stubEnv('LVSFORM_DIRECTOR_ALIAS', 'director1');
    vi.stubEnv('LVSFORM_DIRECTOR_ALIAS_2', 'director2');
    // WHEN the two-directors example is synthesized
    const json = JSON.parse(synth(twoDirectors, 'two-directors').toString('utf8'));
    // THEN each director is reached by config file + its alias
    const ssh = Object.values(json.resource.lvsform_director).map((d: any) => [d.name, d.ssh]);
    expect(ssh).toEqual([
      ['lb1', { config_file: '/lab/ssh_config', alias: 'director1' }],
      ['lb2', { config_file: '/lab/ssh_config', alias: 'director2' }],
    ]);
  });

  it('two-directors puts one shared pool behind the same service on lb1 and lb2', () => {
    // GIVEN the two-directors example
    const json = JSON.parse(synth(twoDirectors, 'two-directors').toString('utf8'));
    // WHEN its services are read
    const services = Object.values(json.resource.lvsform_virtual_service) as any[];
    // THEN both directors carry the same service over the same pool
    expect(services.map((s) => s.director).sort()).toEqual(['lb1', 'lb2']);
    expect(services[0].real_server).toEqual(services[1].real_server);
  });

  it.each(examples.map(([name]) => name))('examples/%s/main.ts runs on its own and honours LVSFORM_OUTDIR', (name) => {
    // GIVEN an output directory in the environment
    const outdir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-main-')), 'out');
    const env: NodeJS.ProcessEnv = { ...process.env, LVSFORM_OUTDIR: outdir };
    for (const v of ['LVSFORM_SSH_CONFIG', 'LVSFORM_DIRECTOR_ALIAS', 'LVSFORM_DIRECTOR_ALIAS_2']) delete env[v];
    // WHEN main.ts is run as a script
    execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'examples', name, 'main.ts')], { cwd: root, env });
    // THEN it wrote the same cdk.tf.json as the golden file
    expect(fs.readFileSync(path.join(outdir, 'stacks', name, 'cdk.tf.json'), 'utf8')).toBe(fs.readFileSync(golden(name), 'utf8'));
  });
});
