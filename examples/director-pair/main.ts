// Run: npx tsx examples/director-pair/main.ts   (writes cdktf.out/stacks/director-pair/cdk.tf.json; env LVSFORM_OUTDIR, else CDKTF_OUTDIR as set by `lvsform synth` from cdktf.json's "output", changes the outdir)
import { App } from 'lvsform';
import { build } from './app.ts';

const app = new App({ outdir: process.env.LVSFORM_OUTDIR ?? process.env.CDKTF_OUTDIR ?? 'cdktf.out' });
build(app);
app.synth();
