/** The plan as text for the terminal: colours by cli/colors.ts, and the note a targeted plan starts with. */
import { targetedText } from '../providers/ipvs/render/render-markdown.ts';
import type { Paint } from '../providers/ipvs/render/render-plan.ts';
import type { Plan } from '../providers/ipvs/plan/plan.ts';
import { colors } from './colors.ts';

export function paint(): Paint {
  const c = colors();
  return { add: c.green, change: c.yellow, remove: c.red, dim: c.dim, bold: c.bold, warn: c.magenta };
}

export function targetNote(plan: Plan): string {
  const t = targetedText(plan);
  return t ? `${t[0]!.toUpperCase()}${t.slice(1)}.\n` : '';
}
