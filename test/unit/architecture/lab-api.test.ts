/**
 * The CLI names what it calls in the lab with its own interface (cli/lab-command.ts), so that the product's build does
 * not take in lab/. This holds that interface to the lab's real module: the assignment below fails to type-check
 * (`npx tsc --noEmit`) when a lab function the CLI calls changes its signature, and the test fails when one is gone.
 */
import { describe, expect, it } from 'vitest';
import type { Lab } from '../../../cli/lab-command.ts';
import * as lab from '../../../lab/index.ts';

describe('the lab as the CLI sees it', () => {
  it('is satisfied by the lab module', () => {
    // GIVEN the lab's module WHEN it is taken as the CLI's view of it (checked by the compiler)
    const view: Lab = lab;
    // THEN every function the CLI calls is there
    for (const name of ['labUp', 'labReboot', 'labStop', 'labStart', 'labDown', 'labStatus', 'labExec', 'labTraffic'] as const)
      expect(typeof view[name]).toBe('function');
  });
});
