/**
 * `lab stop` and `lab start` on a lab state whose VM process is a stand-in for QEMU (a process of its own group that
 * carries the lab's `-name` marker): the stop kills it by PID without a chance to shut down, the state and `lab status`
 * say it was stopped on purpose, and `lab down` still cleans up. Booting a real kernel again is the lab tests' part
 * (test/lab/cluster-failover.test.ts powers a cluster director off and on).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directorAddresses } from '../../../lab/addresses.ts';
import { vmMarker } from '../../../lab/boot-director.ts';
import { labDown } from '../../../lab/lab-down.ts';
import { labStart, labStop } from '../../../lab/lab-power.ts';
import { labStatus } from '../../../lab/lab-status.ts';
import { isProcessWith } from '../../../lab/processes.ts';
import { type LabVm, labPaths, readLabState, writeLabState } from '../../../lab/state.ts';
import { labStateOf } from './lab-state.ts';

const scratch = mkdtempSync(join(tmpdir(), 'lvsform-lab-power-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * A process standing for a VM's QEMU: the leader of its own process group, with the lab's marker in its argv. On
 * SIGTERM it would write `clean` into `trace` before exiting, as a guest given the chance to shut down would.
 */
function standIn(marker: string, trace: string): number {
  const script = `process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(trace)}, 'clean'); process.exit(0); }); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, '--', '-name', marker], { detached: true, stdio: 'ignore' });
  children.push(child);
  return child.pid as number;
}

/** A one-director lab in a fresh directory whose director "runs" as a stand-in process. */
async function labWithRunningVm(name: string): Promise<{ dir: string; vm: LabVm; trace: string }> {
  const dir = join(scratch, name);
  const paths = labPaths(dir);
  const trace = join(dir, 'trace');
  const vm: LabVm = {
    ...directorAddresses(1),
    tap: 'lvsfunitnone0', // no such link: lab down has no tap to delete
    skipModules: [],
    ipForward: true,
    vmPid: null,
    controlMasterPid: null,
    controlPath: join(paths.controlSockets, 'lab-director-1'),
    consoleLog: join(paths.logs, 'director-1.console.log'),
  };
  const state = labStateOf(paths, [vm], undefined, new Date().toISOString());
  await writeLabState(state);
  vm.vmPid = standIn(vmMarker(paths), trace);
  await writeLabState(state);
  // The stand-in is ready once its argv is readable with the marker.
  for (let i = 0; i < 100 && !(await isProcessWith(vm.vmPid, vmMarker(paths))); i++) await new Promise((r) => setTimeout(r, 20));
  return { dir, vm, trace };
}

describe('lab stop', () => {
  it('kills the VM by PID without letting it shut down, and the lab remembers it as stopped', async () => {
    // GIVEN a lab whose director runs
    const { dir, vm, trace } = await labWithRunningVm('stop');
    const pid = vm.vmPid as number;
    expect((await labStatus({ dir })).running).toBe(true);
    // WHEN it is stopped
    const before = Date.now();
    const result = await labStop('lab-director-1', { dir });
    // THEN its process is gone, killed (its SIGTERM handler never ran), at the moment the result says
    expect(result.wasRunning).toBe(true);
    expect(result.stoppedAt).toBeGreaterThanOrEqual(before);
    expect(await isProcessWith(pid, vmMarker(labPaths(dir)))).toBe(false);
    expect(existsSync(trace)).toBe(false);
    // AND the state says it was stopped on purpose, and status shows it stopped and the lab not running
    const state = await readLabState(dir);
    expect(state?.directors[0]).toMatchObject({ vmPid: null, controlMasterPid: null, stopped: true });
    const status = await labStatus({ dir });
    expect(status.running).toBe(false);
    expect(status.directors.map((d) => [d.alias, d.kernelRunning, d.stopped])).toEqual([['lab-director-1', false, true]]);
  });

  it('does nothing to a VM that is not running, and says so', async () => {
    // GIVEN a lab whose director was stopped
    const { dir } = await labWithRunningVm('twice');
    await labStop(1, { dir });
    // WHEN it is stopped again THEN nothing was running
    const lines: string[] = [];
    expect((await labStop(1, { dir, onProgress: (m) => lines.push(m) })).wasRunning).toBe(false);
    expect(lines).toEqual(['lab-director-1: was not running']);
  });

  it('refuses a VM the lab does not have, and a directory with no lab, naming what there is', async () => {
    // GIVEN a lab of one director
    const { dir } = await labWithRunningVm('unknown');
    // WHEN another name is stopped or started THEN the error names the lab's machines, and nothing is touched
    await expect(labStop('cluster-director-2', { dir })).rejects.toMatchObject({
      code: 'LVS_LAB_NO_DIRECTOR',
      message: expect.stringContaining('the lab has: lab-director-1'),
    });
    await expect(labStart('cluster-director-2', { dir })).rejects.toMatchObject({ code: 'LVS_LAB_NO_DIRECTOR' });
    expect((await labStatus({ dir })).running).toBe(true);
    // AND a directory without a lab is refused with how to boot one
    await expect(labStop(1, { dir: join(scratch, 'none') })).rejects.toMatchObject({ code: 'LVS_LAB_NOT_RUNNING', hint: expect.stringContaining('lab up') });
    await expect(labStart(1, { dir: join(scratch, 'none') })).rejects.toMatchObject({ code: 'LVS_LAB_NOT_RUNNING' });
  });
});

describe('lab start', () => {
  it('leaves a VM that runs alone', async () => {
    // GIVEN a lab whose director runs WHEN it is started THEN the same process runs on, untouched
    const { dir, vm } = await labWithRunningVm('running');
    const result = await labStart('director-1', { dir });
    expect(result).toEqual({ wasRunning: true, ms: 0, vmPid: vm.vmPid });
    expect(await isProcessWith(vm.vmPid, vmMarker(labPaths(dir)))).toBe(true);
  });
});

describe('lab down after lab stop', () => {
  it('removes a lab with a stopped VM: its state directory goes', async () => {
    // GIVEN a lab whose director was stopped
    const { dir } = await labWithRunningVm('down');
    await labStop(1, { dir });
    // WHEN the lab is taken down THEN nothing of it is left
    await labDown({ dir });
    expect(existsSync(dir)).toBe(false);
    expect((await labStatus({ dir })).state).toBeUndefined();
  });
});
