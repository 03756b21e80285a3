/**
 * `lvsform init`, in the manner of `cdktf init`: the files of a new infrastructure repo (package.json, tsconfig.json,
 * cdktf.json, main.ts, .gitignore, README.md) for one of three templates. Nothing is overwritten: when any of the
 * files exists, nothing is written.
 */
import { basename, resolve } from 'node:path';
import { shQuote } from '../providers/ipvs/host/shell-quote.ts';
import { LvsError } from '../providers/ipvs/model/errors.ts';
import { createFiles } from '../providers/ipvs/read/local-writes.ts';
import { packageInfo } from './package-info.ts';

export const TEMPLATES = ['nat', 'direct-routing', 'tunnel'] as const;
export type Template = (typeof TEMPLATES)[number];

export interface InitResult {
  readonly dir: string;
  readonly stack: string;
  readonly files: readonly string[];
}

/** The stack name (and npm package name) a directory gives: its base name, lower case, other characters as `-`. */
export function projectName(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return name || 'lvs';
}

/** A directory as the user types it in `cd`: bare when plain, else quoted; `./` before a leading `-` (not a flag). */
export function shellWord(dir: string): string {
  const safe = dir.startsWith('-') ? `./${dir}` : dir;
  return /^[\w@%+=:,./-]+$/.test(safe) ? safe : shQuote(safe);
}

/** Where a project keeps lvsform's tarball while lvsform is not on the npm registry (inside the repo: see nextSteps). */
export function vendoredTarball(): string {
  return `vendor/lvsform-${packageInfo().version}.tgz`;
}

/**
 * The commands that follow `lvsform init` in `where` (relative to the working directory). lvsform is not on the npm
 * registry yet, so `npm install` alone fails (E404). The tarball is kept inside the repo: `npm install ./vendor/X.tgz`
 * records `"lvsform": "file:vendor/X.tgz"`, which a CI's `npm ci` on a fresh clone installs; a tarball outside the repo
 * (`file:../X.tgz`) is not there in CI, and `npx --package X.tgz` asks for confirmation (`--yes` without a terminal).
 */
export function nextSteps(where: string): string[] {
  const tgz = vendoredTarball();
  return [
    ...(where === '.' ? [] : [`cd ${shellWord(where)}`]),
    `mkdir -p vendor && cp PATH/TO/${tgz.slice('vendor/'.length)} vendor/   # lvsform is not on the npm registry yet`,
    `npm install ./${tgz}        # records "lvsform": "file:${tgz}" (npm ci installs it)`,
    'npx lvsform synth',
    'npx lvsform plan',
  ];
}

const DIRECTOR = "{ ssh: { host: '203.0.113.2', user: 'root' } }";

/** The body of main.ts after its imports: each template is the example of the same name (examples/). */
const BODIES: Record<Template, { imports: string[]; about: string; body: string }> = {
  nat: {
    imports: ['App', 'Director', 'Forwarding', 'LvsStack', 'RealServerPool', 'Scheduler'],
    about: 'The classic VS/NAT web cluster: one TCP VIP, round robin over three web servers that use the director as\n// their gateway.',
    body: `const lb1 = new Director(stack, 'lb1', ${DIRECTOR});
const web = new RealServerPool(stack, 'web-pool', {
  forwarding: Forwarding.NAT,
  members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
});
lb1.addVirtualService('http', {
  address: '198.51.100.10',
  port: 80,
  scheduler: Scheduler.ROUND_ROBIN,
  pools: [web],
});
`,
  },
  'direct-routing': {
    imports: ['App', 'Director', 'Forwarding', 'LvsStack', 'Protocol', 'RealServerPool', 'Scheduler'],
    about:
      'Direct routing: the real servers hold the VIPs on their loopback and answer clients themselves. A weighted\n// web service, and a UDP DNS-style service scheduled one datagram at a time.',
    body: `const lb1 = new Director(stack, 'lb1', ${DIRECTOR});

const web = new RealServerPool(stack, 'web-pool', {
  forwarding: Forwarding.DIRECT_ROUTING,
  members: [
    { address: '192.0.2.11', weight: 3 },
    { address: '192.0.2.12', weight: 2 },
    { address: '192.0.2.13', weight: 1 },
  ],
});
lb1.addVirtualService('http', {
  protocol: Protocol.TCP,
  address: '198.51.100.20',
  port: 80,
  scheduler: Scheduler.WEIGHTED_LEAST_CONNECTION,
  pools: [web],
});

const dns = new RealServerPool(stack, 'dns-pool', {
  forwarding: Forwarding.DIRECT_ROUTING,
  members: [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }],
});
lb1.addVirtualService('dns', {
  protocol: Protocol.UDP,
  address: '198.51.100.21',
  port: 53,
  scheduler: Scheduler.ROUND_ROBIN,
  onePacket: true,
  pools: [dns],
});
`,
  },
  tunnel: {
    imports: ['App', 'Director', 'Forwarding', 'LvsStack', 'RealServerPool', 'Scheduler', 'TunnelType'],
    about:
      'Tunnelling: the director encapsulates packets to the real servers, which hold the VIPs on their loopback. One\n// service over IP-in-IP, one over GUE (UDP port 6080) with source hashing that falls back and hashes the port too.',
    body: `const lb1 = new Director(stack, 'lb1', ${DIRECTOR});
const reals = [{ address: '192.0.2.11' }, { address: '192.0.2.12' }, { address: '192.0.2.13' }];

const ipip = new RealServerPool(stack, 'ipip-pool', { forwarding: Forwarding.tunnel(), members: reals });
lb1.addVirtualService('http-ipip', {
  address: '198.51.100.30',
  port: 80,
  scheduler: Scheduler.ROUND_ROBIN,
  pools: [ipip],
});

const gue = new RealServerPool(stack, 'gue-pool', {
  forwarding: Forwarding.tunnel({ type: TunnelType.GUE, port: 6080 }),
  members: reals,
});
lb1.addVirtualService('http-gue', {
  address: '198.51.100.31',
  port: 80,
  scheduler: Scheduler.sourceHash({ fallback: true, port: true }),
  pools: [gue],
});
`,
  },
};

function mainTs(template: Template, stack: string): string {
  const t = BODIES[template];
  return `// ${t.about}
// Every address is a documentation address: replace them with your directors, VIPs and real servers.
import { ${t.imports.join(', ')} } from 'lvsform';

const app = new App();
// The stack name names the ownership record on each director (/var/lib/lvsform/<stack>.json).
const stack = new LvsStack(app, '${stack}');
${t.body}
app.synth();
`;
}

function files(template: Template, stack: string): Record<string, string> {
  const pkg = packageInfo();
  const { version } = pkg;
  const dev = pkg.devDependencies;
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  return {
    'package.json': json({
      name: stack,
      version: '0.0.0',
      private: true,
      type: 'module',
      scripts: { synth: 'lvsform synth', plan: 'lvsform plan', apply: 'lvsform apply', typecheck: 'tsc --noEmit' },
      dependencies: { lvsform: `^${pkg.version}` },
      devDependencies: { '@types/node': `^${dev['@types/node']}`, tsx: `^${dev['tsx']}`, typescript: `^${dev['typescript']}` },
      // tsx's esbuild needs no install script (its binary is an optional dependency); without this line npm 11 warns
      // on every install that the script is not covered by allowScripts.
      allowScripts: { esbuild: false },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['*.ts'],
    }),
    'cdktf.json': json({
      language: 'typescript',
      // tsx from the project's node_modules/.bin, which lvsform puts on PATH for the app (synth.ts), as npm scripts
      // do; `npx tsx` would cost npm's start-up on every synth.
      app: 'tsx main.ts',
      output: 'cdktf.out',
      projectId: stack,
      terraformProviders: [],
      terraformModules: [],
      context: {},
    }),
    'main.ts': mainTs(template, stack),
    '.gitignore': 'node_modules/\ncdktf.out/\n*.plan\n',
    'README.md': `# ${stack}

Linux Virtual Server directors described in TypeScript with lvsform (template \`${template}\`). \`main.ts\` holds the
directors, virtual services and real-server pools; \`cdktf.json\`'s \`app\` is the command that runs it.

lvsform is not on the npm registry yet: make its tarball in a clone of lvsform (\`npm ci && npm pack\`) and keep it
in this repo, where a CI's \`npm ci\` finds it:

\`\`\`sh
mkdir -p vendor && cp PATH/TO/lvsform-${version}.tgz vendor/
npm install ./vendor/lvsform-${version}.tgz   # package.json: "lvsform": "file:vendor/lvsform-${version}.tgz"
\`\`\`

Then:

\`\`\`sh
npx lvsform synth      # run main.ts, write cdktf.out/stacks/${stack}/cdk.tf.json
npx lvsform doctor     # check each director: IPVS, ipvsadm, forwarding, modules
npx lvsform plan       # read each director and show what apply would change
npx lvsform apply      # carry it out, verified by reading the table back
\`\`\`

Plan on every pull request and apply the reviewed plan on merge: \`npx lvsform plan --out web.plan\`, then
\`npx lvsform apply web.plan\`. Shell completion: \`npx lvsform completion bash|zsh|fish\`.
`,
  };
}

/**
 * Writes a new project for `template` into `dir` (created when missing); refuses, writing nothing, if any file exists
 * or `dir` is not a directory; a write that fails midway removes what it wrote.
 */
export async function initProject(dir: string, template: Template): Promise<InitResult> {
  if (!TEMPLATES.includes(template)) {
    throw new LvsError('LVS_USAGE', `there is no template "${String(template)}"`, { hint: `Pick one of: ${TEMPLATES.join(', ')}.` });
  }
  const root = resolve(dir);
  const stack = projectName(root);
  const wanted = files(template, stack);
  await createFiles(root, wanted, {
    code: 'LVS_INIT_EXISTS',
    verb: 'write a new project into',
    hint: 'Run lvsform init in an empty directory, or name a new one: lvsform init DIR.',
    replace: 'never',
    exists: 'lvsform init overwrites nothing, so nothing was written',
  });
  return { dir: root, stack, files: Object.keys(wanted) };
}
