import fs from 'node:fs';
import { CdktfApp, TerraformStack, type AppConfig } from './cdktf.ts';
import { LvsStack } from './lvs-stack.ts';
import { notAnObject, unknownKey } from './private/keys.ts';
import { ValidationError, type ValidationProblem } from './validation-error.ts';

/** The options of cdktf's App. */
const APP_KEYS = ['outdir', 'stackTraces', 'hclOutput', 'context', 'skipValidation', 'skipBackendValidation'];

/**
 * The root of an lvsform app: a cdktf App whose `synth()` validates every stack first and, when anything is wrong,
 * throws one `ValidationError` listing every problem of every stack and writes nothing.
 *
 * The output directory is `config.outdir`, else env `CDKTF_OUTDIR`, else `cdktf.out`.
 */
export class App extends CdktfApp {
  private readonly createdOutdir: boolean;

  constructor(config: AppConfig = {}) {
    // A misspelt option (`outDir`) would be dropped and the output written somewhere else: refuse it.
    const wrong = notAnObject('App config', config, "{ outdir: 'cdktf.out' }") ?? unknownKey('App', config, APP_KEYS);
    if (wrong) ValidationError.fail('App', wrong);
    const outdir = config.outdir ?? process.env.CDKTF_OUTDIR ?? 'cdktf.out';
    const existed = fs.existsSync(outdir);
    super(config);
    this.createdOutdir = !existed;
  }

  /** Every problem of every stack, in tree order, then the services two stacks both declare on one machine. */
  collectProblems(): ValidationProblem[] {
    const problems: ValidationProblem[] = [];
    for (const stack of this.node.findAll().filter(TerraformStack.isStack)) {
      if (stack instanceof LvsStack) {
        problems.push(...stack.collectProblems());
      } else {
        for (const c of stack.node.findAll()) for (const message of c.node.validate()) problems.push({ path: c.node.path, message });
      }
    }
    problems.push(...sharedServices(this.node.findAll().filter((c): c is LvsStack => c instanceof LvsStack)));
    return problems;
  }

  override synth(): void {
    const stacks = this.node.findAll().filter((c): c is LvsStack => c instanceof LvsStack);
    if (!this.skipValidation) {
      const problems = this.collectProblems();
      if (problems.length > 0) {
        this.removeEmptyOutdir();
        throw new ValidationError(problems);
      }
    }
    for (const s of stacks) s._markValidated(true);
    try {
      super.synth();
    } finally {
      for (const s of stacks) s._markValidated(false);
    }
  }

  private removeEmptyOutdir(): void {
    // cdktf creates the output directory when the App is constructed; leave no trace of a failed synth.
    if (!this.createdOutdir || !fs.existsSync(this.outdir)) return;
    const files = fs.readdirSync(this.outdir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory());
    if (files.length === 0) fs.rmSync(this.outdir, { recursive: true });
  }
}

/**
 * One service of one machine has one owning stack (its record on the director says so, and every other stack's plan
 * refuses it): two stacks of one app that declare it would fail at their second apply, so the app is refused at synth.
 */
function sharedServices(stacks: readonly LvsStack[]): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const first = new Map<string, { stack: LvsStack; path: string }>();
  for (const stack of stacks) {
    for (const director of stack.directors) {
      const machine = director.reachKey;
      for (const service of director.virtualServices) {
        const key = `${machine} ${service.serviceId}`;
        const seen = first.get(key);
        if (seen === undefined) first.set(key, { stack, path: service.node.path });
        else if (seen.stack !== stack) {
          problems.push({
            path: service.node.path,
            message: `service ${service.serviceId} is declared by two stacks on one machine (${machine}): ${seen.path} and ${service.node.path}; one service has one owning stack, declare it in one of them`,
          });
        }
      }
    }
  }
  return problems;
}
