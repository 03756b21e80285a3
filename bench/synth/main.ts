// Synth time of an app with 10,000 virtual services x 4 real servers, against cdktf's own synth of 40,000 bare
// TerraformResources measured in the same run. Run: npx tsx bench/synth/main.ts [services]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App as CdktfApp, TerraformResource, TerraformStack } from 'cdktn';
import { App, Director, LvsStack, RealServerPool, Scheduler } from 'lvsform';

const SERVICES = Number(process.argv[2] ?? 10_000);
const REALS = 4;

function tempdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'lvsform-bench-'));
}

/** Builds and synthesizes the lvsform app; returns [build ms, synth ms]. */
function lvsform(outdir: string): [number, number] {
  const t0 = performance.now();
  const app = new App({ outdir });
  const stack = new LvsStack(app, 'bench');
  const lb1 = new Director(stack, 'lb1', { ssh: { host: '203.0.113.2', user: 'root' } });
  for (let i = 0; i < SERVICES; i++) {
    // 10,000 distinct identities: 50 VIPs x 200 ports.
    const pool = new RealServerPool(stack, `pool-${i}`, {
      members: Array.from({ length: REALS }, (_, r) => ({ address: `192.0.2.${11 + r}`, port: 8000 + (i % 1000) })),
    });
    lb1.addVirtualService(`svc-${i}`, {
      address: `198.51.100.${10 + (i % 50)}`,
      port: 1000 + Math.floor(i / 50),
      scheduler: Scheduler.ROUND_ROBIN,
      pools: [pool],
    });
  }
  const t1 = performance.now();
  app.synth();
  return [t1 - t0, performance.now() - t1];
}

/** cdktf's own synth of SERVICES x REALS bare resources; returns [build ms, synth ms]. */
function baseline(outdir: string): [number, number] {
  const t0 = performance.now();
  const app = new CdktfApp({ outdir });
  const stack = new TerraformStack(app, 'baseline');
  for (let i = 0; i < SERVICES * REALS; i++) new TerraformResource(stack, `r${i}`, { terraformResourceType: 'null_resource' });
  const t1 = performance.now();
  app.synth();
  return [t1 - t0, performance.now() - t1];
}

const dirs = [tempdir(), tempdir()];
try {
  const [ourBuild, ourSynth] = lvsform(dirs[0]!);
  const [baseBuild, baseSynth] = baseline(dirs[1]!);
  const bytes = fs.statSync(path.join(dirs[0]!, 'stacks', 'bench', 'cdk.tf.json')).size;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  console.log(
    `lvsform  ${SERVICES} services x ${REALS} reals: build ${ms(ourBuild)}, synth ${ms(ourSynth)}, total ${ms(ourBuild + ourSynth)} (${(bytes / 1e6).toFixed(1)} MB)`,
  );
  console.log(`cdktf    ${SERVICES * REALS} bare resources:   build ${ms(baseBuild)}, synth ${ms(baseSynth)}, total ${ms(baseBuild + baseSynth)}`);
  console.log(`ratio lvsform/cdktf: synth ${(ourSynth / baseSynth).toFixed(2)}, total ${((ourBuild + ourSynth) / (baseBuild + baseSynth)).toFixed(2)}`);
  if (ourBuild + ourSynth > 3000) process.exitCode = 1;
} finally {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}
