/** `lvsform show PLANFILE`: reads and renders a saved plan; loads no transport (nothing is reached). */
import type { Command } from 'commander';
import { readPlanFile } from '../providers/ipvs/plan/plan-file.ts';
import { planToJson } from '../providers/ipvs/render/plan-json.ts';
import { renderMarkdown } from '../providers/ipvs/render/render-markdown.ts';
import { renderPlan } from '../providers/ipvs/render/render-plan.ts';
import { paint, targetNote } from './plan-text.ts';

export async function showAction(_program: Command, file: string, opts: { json?: boolean; markdown?: boolean }): Promise<void> {
  const plan = await readPlanFile(file);
  if (opts.json) process.stdout.write(`${JSON.stringify(planToJson(plan))}\n`);
  else if (opts.markdown) process.stdout.write(renderMarkdown(plan, { planFile: file }));
  else process.stdout.write(targetNote(plan) + renderPlan(plan, paint()));
}
