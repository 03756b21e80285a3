import { describe, expect, it } from 'vitest';
import { evaluate, modulesNeeded } from '../../../providers/ipvs/ops/doctor.ts';
import { doctorChunk, parseDoctorFacts } from '../../../providers/ipvs/host/requests/doctor-facts.ts';
import type { Table } from '../../../providers/ipvs/model/model.ts';

const natTable: Table = {
  services: [
    {
      key: { kind: 'addr', protocol: 'tcp', address: '198.51.100.10', port: 80 },
      config: { scheduler: 'rr', schedFlags: [], onePacket: false },
      destinations: [{ address: '192.0.2.11', port: 80, forwarding: { method: 'masq' }, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
    },
  ],
};

const healthy = [
  'kernel=6.1.176',
  'ipvs_loaded=yes',
  'ipvs_builtin=no',
  'ipvsadm_path=/usr/sbin/ipvsadm',
  'ipvsadm_version=ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)',
  'ipvsadm_header=IP Virtual Server version 1.2.1 (size=4096)',
  'ip_forward=1',
  'flock=yes',
  'root=yes',
  'module_ip_vs=loaded',
  'module_ip_vs_rr=available',
].join('\n');

function blockingNames(facts: string): string[] {
  return evaluate({ facts: parseDoctorFacts(facts), table: natTable })
    .filter((c) => c.blocking)
    .map((c) => c.name);
}

describe('doctor checks', () => {
  it('passes a director that has everything a NAT service needs', () => {
    expect(blockingNames(healthy)).toEqual([]);
  });

  it('warns, without blocking, when the state directory is open to other users (lvsform chmods it only when it makes it)', () => {
    const check = (mode: string) =>
      evaluate({ facts: parseDoctorFacts(`${healthy}\nstate_dir_mode=${mode}`), table: natTable }).find((c) => c.name === 'state directory');
    expect(check('700')).toMatchObject({ status: 'ok', blocking: false });
    expect(check('755')).toMatchObject({ status: 'warn', blocking: false, fix: 'chmod 700 /var/lib/lvsform' });
    expect(check('absent')).toBeUndefined();
    expect(doctorChunk([])).toContain('state_dir_mode=');
  });

  it.each([
    ['ip_forward off', healthy.replace('ip_forward=1', 'ip_forward=0'), 'IPv4 forwarding (NAT)'],
    ['no ipvsadm', healthy.replace('ipvsadm_path=/usr/sbin/ipvsadm', 'ipvsadm_path='), 'ipvsadm'],
    ['a missing scheduler module', healthy.replace('module_ip_vs_rr=available', 'module_ip_vs_rr=missing'), 'module ip_vs_rr'],
    ['no IPVS at all', healthy.replace('ipvs_loaded=yes', 'ipvs_loaded=no').replace('module_ip_vs=loaded', 'module_ip_vs=missing'), 'IPVS in the kernel'],
    ['a module listed in modules.dep whose file is gone', healthy.replace('module_ip_vs_rr=available', 'module_ip_vs_rr=unreadable'), 'module ip_vs_rr'],
    ['a module disabled by an install rule', healthy.replace('module_ip_vs_rr=available', 'module_ip_vs_rr=disabled'), 'module ip_vs_rr'],
    ['not root', healthy.replace('root=yes', 'root=no'), 'privileges'],
    ['no flock', healthy.replace('flock=yes', 'flock=no'), 'flock'],
  ])('blocks an apply when there is %s', (_name, facts, check) => {
    expect(blockingNames(facts)).toContain(check);
  });

  it.each([
    ['unreadable', 'file is missing or empty', 'depmod -a'],
    ['disabled', 'disabled by an install rule', '/etc/modprobe.d'],
  ])('explains a module that is %s and how to fix it', (state, detail, fix) => {
    // GIVEN a director whose rr module is in that state
    const facts = parseDoctorFacts(healthy.replace('module_ip_vs_rr=available', `module_ip_vs_rr=${state}`));
    // WHEN the checks are evaluated
    const check = evaluate({ facts, table: natTable }).find((c) => c.name === 'module ip_vs_rr');
    // THEN the failure says why and what to do
    expect(check?.detail).toContain(detail);
    expect(check?.fix).toContain(fix);
  });

  it.each([
    ['twos', ''],
    ['my_sched', 'unknown scheduler; '],
  ])('calls a missing ip_vs_%s module a scheduler of the kernel only when it is one', (name, prefix) => {
    // GIVEN a service on that scheduler and a director without its module
    const table: Table = { services: [{ ...natTable.services[0]!, config: { scheduler: name, schedFlags: [], onePacket: false } }] };
    const facts = parseDoctorFacts(`${healthy}\nmodule_ip_vs_${name}=missing`);
    // WHEN the checks are evaluated
    const check = evaluate({ facts, table }).find((c) => c.name === `module ip_vs_${name}`);
    // THEN twos (6.2, as Scheduler.of accepts it) is not called unknown; a name of no kernel is
    expect(check?.detail).toBe(`${prefix}module ip_vs_${name} is missing: services using it will be rejected by the kernel`);
  });

  it("checks the dry run's module files, not only the exit status of modprobe -n", () => {
    expect(doctorChunk(['ip_vs_rr'])).toContain('[ -s "$lvs_ko" ] || lvs_st=unreadable');
  });

  it('asks only for the modules the services use', () => {
    expect(modulesNeeded(natTable)).toEqual(['ip_vs', 'ip_vs_rr']);
  });

  it('never puts an unexpected module name into the script', () => {
    expect(doctorChunk(['ip_vs_rr', 'ip_vs_x; rm -rf /'])).not.toContain('rm -rf');
  });
});
