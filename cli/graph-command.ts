/**
 * `lvsform graph`: the stack as a picture, directors → services → pools → real servers, in DOT (`dot -Tsvg`, as
 * `terraform graph` gives) or Mermaid (drawn inline by GitHub and GitLab). Without --plan it draws what the app
 * declares (synthesized first, as plan does); with --plan it draws a saved plan, coloured by what it changes, and
 * reaches no director either way.
 */
import { type Command, Option } from 'commander';
import { directorOption } from './args.ts';

interface GraphOpts {
  format: 'dot' | 'mermaid';
  plan?: string;
  stack?: string;
  director?: string[];
  synth: boolean;
}

export function registerGraphCommand(program: Command): void {
  program
    .command('graph')
    .description('draw directors, services, pools and real servers (the desired state, or a saved plan coloured by its changes) as DOT or Mermaid')
    .addOption(new Option('--format <format>', 'dot (Graphviz: dot -Tsvg) or mermaid (GitHub, GitLab)').choices(['dot', 'mermaid']).default('dot'))
    .option('--plan <file>', 'draw this saved plan (lvsform plan --out FILE) instead of the desired state')
    .option('--stack <name>', 'the stack (when the app has several)')
    .addOption(directorOption())
    .option('--no-synth', 'use the existing cdktf.out instead of running the app first')
    .action(async (opts: GraphOpts) => {
      // Loaded when the command runs, so that start-up and --help stay fast.
      const [{ desiredGraph, planGraph }, { renderDot }, { renderMermaid }] = await Promise.all([
        import('../providers/ipvs/render/graph.ts'),
        import('../providers/ipvs/render/render-dot.ts'),
        import('../providers/ipvs/render/render-mermaid.ts'),
      ]);
      let graph: import('../providers/ipvs/render/graph.ts').Graph;
      if (opts.plan !== undefined) {
        const [{ readPlanFile }, { LvsError }] = await Promise.all([
          import('../providers/ipvs/plan/plan-file.ts'),
          import('../providers/ipvs/model/errors.ts'),
        ]);
        const plan = await readPlanFile(opts.plan, opts.stack);
        const names = opts.director ?? [];
        for (const name of names) {
          if (!plan.directors.some((d) => d.director === name)) {
            throw new LvsError('LVS_NO_DIRECTOR', `plan ${opts.plan} has no director "${name}" (it has: ${plan.directors.map((d) => d.director).join(', ')})`);
          }
        }
        graph = planGraph(names.length ? { ...plan, directors: plan.directors.filter((d) => names.includes(d.director)) } : plan);
      } else {
        const [{ loadStacks, readProjectConfig, runApp, selectDirectors, selectStack, stripBom }, { readPools }, { readFile }] = await Promise.all([
          import('../providers/ipvs/read/synth.ts'),
          import('../providers/ipvs/read/read-pools.ts'),
          import('node:fs/promises'),
        ]);
        const cfg = await readProjectConfig(program.opts<{ dir: string }>().dir);
        if (opts.synth) await runApp(cfg);
        const stack = selectDirectors(selectStack(await loadStacks(cfg.outdir, { fresh: opts.synth }), opts.stack), opts.director);
        const pools = readPools(JSON.parse(stripBom(await readFile(stack.file, 'utf8'))));
        graph = desiredGraph(
          stack.stack,
          stack.directors.map((d) => {
            const p = pools.get(d.name);
            return { ...d, ...(p ? { pools: p } : {}) };
          }),
        );
      }
      process.stdout.write(opts.format === 'mermaid' ? renderMermaid(graph) : renderDot(graph));
    });
}
