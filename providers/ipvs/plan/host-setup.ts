/**
 * The pure plan of a director's set-up (see model/host-setup.ts for the data): what to change, in the order it is
 * carried out, from what the app asks for and the facts the director reported (the `facts` request,
 * host/requests/facts.ts), shown in the plan like any change. The `setup` request carries it out before the batch and
 * `save-rules` after the verified batch; apply/setup-steps.ts judges their answers. Every path and value reaches the
 * shell through `shQuote` or a quoted here-document.
 */
import { requiredModules } from '../model/limits.ts';
import { LvsError } from '../model/errors.ts';
import { normalizeTable, serviceId, type Service, type Table } from '../model/model.ts';
import { parseSave } from '../read/parse-save.ts';
import type { SettingsRecord } from '../model/director-settings.ts';
import { bootUnitContent, bootUnitName, bootUnitPath, bootUnitWantsPath, settingsSysctlLines } from './settings-boot.ts';
import {
  bootLayout,
  DEBIAN_DEFAULTS,
  DEBIAN_LAYOUT,
  debianAuto,
  FORWARDING_SYSCTLS,
  modulesFile,
  modulesFileContent,
  packageManager,
  READ_SCRIPT,
  READ_SUDOERS,
  readSudoersFile,
  requiredSysctls,
  RHEL_LAYOUT,
  RHEL_SERVICE,
  sysctlFile,
  sysctlFileContent,
  type HostFacts,
  type HostSetupSpec,
  type SetupItem,
} from '../model/host-setup.ts';

/** Thresholds are not in `ipvsadm -S` output, so a saved file is compared without them. */
function withoutThresholds(table: Table): Table {
  return normalizeTable({
    services: table.services.map((s) => ({ ...s, destinations: s.destinations.map((d) => ({ ...d, upperThreshold: 0, lowerThreshold: 0 })) })),
  });
}

/** True when a saved rules file holds exactly `table` (thresholds aside); false when it is missing or unreadable. */
export function rulesFileMatches(content: string | null, table: Table): boolean {
  if (content === null) return false;
  try {
    return JSON.stringify(withoutThresholds(parseSave(content, 'rules file'))) === JSON.stringify(withoutThresholds(table));
  } catch {
    return false;
  }
}

/**
 * The whole table once the plan is carried out: the live services the stack neither declares nor owns stay as they
 * are, owned services that are no longer declared go, the declared ones are as desired.
 */
export function tableAfter(live: Table, owned: ReadonlySet<string>, desired: Table): Table {
  const declared = new Set(desired.services.map((s) => serviceId(s.key)));
  const kept: Service[] = live.services.filter((s) => {
    const id = serviceId(s.key);
    return !declared.has(id) && !owned.has(id);
  });
  return normalizeTable({ services: [...kept, ...desired.services] });
}

export interface HostSetupInput {
  readonly stack: string;
  /** Director name, for messages. */
  readonly director: string;
  readonly spec: HostSetupSpec;
  readonly facts: HostFacts;
  /** The services the stack will own on this director (what its modules and forwarding must serve). */
  readonly desired: Table;
  /** The whole table after the plan (see `tableAfter`): what the rules file must hold. */
  readonly after: Table;
  /** A destroy keeps modules and forwarding as they are and only saves the table. */
  readonly destroy?: boolean;
  /**
   * `ssh.planUser`: install the read-only script and the sudoers rule that lets this user run it. `script` is the
   * script's text (host/read-script.ts's `readScriptText()`), given by the caller so that planning reads no host code.
   */
  readonly readAccess?: { readonly user: string; readonly script: string };
  /**
   * The director settings lvsform will own once the plan is carried out (the plan's settings record), when the app
   * manages any or the record holds any: written to the sysctl file and the boot unit (settings-boot.ts).
   */
  readonly settings?: { readonly record: SettingsRecord | undefined };
  /** The director is in a pair: keepalived carries its VRRP (installed when `installKeepalived` and missing). */
  readonly keepalived?: boolean;
}

/** The facts a plan needs to read for a spec: the files and sysctls to look at and the modules to check. */
export function factsQuery(stack: string, desired: Table, planUser?: string, settings = false): { modules: string[]; files: string[]; sysctls: string[] } {
  return {
    modules: requiredModules(desired),
    files: [
      modulesFile(stack),
      sysctlFile(stack),
      DEBIAN_LAYOUT.rulesFile,
      RHEL_LAYOUT.rulesFile,
      DEBIAN_DEFAULTS,
      // With a plan user, the read script and its sudoers rule are part of the set-up (read-script.ts).
      ...(planUser === undefined ? [] : [READ_SCRIPT, READ_SUDOERS]),
      // With director settings, the boot unit that puts them back (after the read script's files: a read-only run
      // reads a fixed prefix of this list).
      ...(settings ? [bootUnitPath(stack), bootUnitWantsPath(stack)] : []),
    ],
    sysctls: [FORWARDING_SYSCTLS.inet, FORWARDING_SYSCTLS.inet6],
  };
}

export function fileItem(path: string, current: string | null | undefined, content: string | undefined, detail: string): SetupItem | undefined {
  const now = current ?? null;
  if (content === undefined) return now === null ? undefined : { kind: 'file', action: 'delete', name: path, detail: 'nothing needs it any more' };
  if (now === content) return undefined;
  return { kind: 'file', action: now === null ? 'create' : 'update', name: path, after: content, detail };
}

/**
 * What the host set-up will change, in the order it is carried out: the package, modules now, the modules file,
 * sysctls now, the sysctl file, the boot switch of the distribution's ipvsadm service, and (after the batch) the saved
 * table. Empty when the host already matches.
 * @throws LvsError `LVS_SETUP_UNSUPPORTED` when ipvsadm must be installed without a known package manager, or the
 *   table must be saved on a distribution whose boot service lvsform does not know.
 */
export function planHostSetup(input: HostSetupInput): SetupItem[] {
  const { spec, facts, stack } = input;
  const items: SetupItem[] = [];
  const hint = 'Set that part of the Director `setup` to false and do it by other means, or run lvsform against a Debian- or RHEL-like director.';
  if (spec.installIpvsadm && !facts.commands.includes('ipvsadm')) {
    const manager = packageManager(facts.commands);
    if (!manager) {
      throw new LvsError('LVS_SETUP_UNSUPPORTED', `director ${input.director}: ipvsadm is missing and neither apt-get, dnf nor yum is there to install it`, {
        hint,
      });
    }
    items.push({ kind: 'package', action: 'create', name: 'ipvsadm', via: manager, detail: `${manager} install ipvsadm` });
  }
  if (!input.destroy && input.keepalived && spec.installKeepalived && !facts.commands.includes('keepalived')) {
    const manager = packageManager(facts.commands);
    if (!manager) {
      throw new LvsError('LVS_SETUP_UNSUPPORTED', `director ${input.director}: keepalived is missing and neither apt-get, dnf nor yum is there to install it`, {
        hint,
      });
    }
    items.push({ kind: 'package', action: 'create', name: 'keepalived', via: manager, detail: `${manager} install keepalived (the pair's VRRP)` });
  }
  if (!input.destroy && spec.loadModules) {
    const modules = requiredModules(input.desired);
    for (const m of modules) {
      if (!facts.loadedModules.includes(m)) items.push({ kind: 'module', action: 'create', name: m, detail: 'load now' });
    }
    const item = fileItem(modulesFile(stack), facts.files[modulesFile(stack)], modulesFileContent(stack, modules), `load ${modules.join(' ')} at boot`);
    if (item) items.push(item);
  }
  const ipvsLines = input.destroy ? [] : settingsSysctlLines(input.settings?.record);
  if ((!input.destroy && spec.ipForward) || (input.settings && ipvsLines.length > 0)) {
    const keys = input.destroy || !spec.ipForward ? [] : requiredSysctls(input.desired);
    for (const k of keys) {
      const now = facts.sysctls[k] ?? null;
      if (now !== '1') items.push({ kind: 'sysctl', action: 'update', name: k, before: now ?? 'absent', after: '1' });
    }
    const item = fileItem(
      sysctlFile(stack),
      facts.files[sysctlFile(stack)],
      keys.length || ipvsLines.length ? sysctlFileContent(stack, keys, ipvsLines) : undefined,
      `${[...keys.map((k) => `${k} = 1`), ...ipvsLines].join(', ')} at boot`,
    );
    if (item) items.push(item);
  } else if (input.settings && /^net\.ipv4\.vs\./m.test(facts.files[sysctlFile(stack)] ?? '')) {
    // The IPVS sysctls are no longer lvsform's: the file keeps only the forwarding it held.
    const kept = Object.values(FORWARDING_SYSCTLS).filter((k) =>
      new RegExp(`^${k.replaceAll('.', '\\.')} = 1$`, 'm').test(facts.files[sysctlFile(stack)] ?? ''),
    );
    const item = fileItem(
      sysctlFile(stack),
      facts.files[sysctlFile(stack)],
      kept.length ? sysctlFileContent(stack, kept) : undefined,
      'without the IPVS sysctls',
    );
    if (item) items.push(item);
  }
  if (input.settings) items.push(...bootUnitItems(stack, facts, input.destroy ? undefined : input.settings.record));
  if (!input.destroy && input.readAccess !== undefined) {
    const { user, script: text } = input.readAccess;
    const script = fileItem(READ_SCRIPT, facts.files[READ_SCRIPT], text, 'the read-only plan script, root-owned, mode 0755');
    if (script) items.push({ ...script, mode: '755' });
    const rule = fileItem(READ_SUDOERS, facts.files[READ_SUDOERS], readSudoersFile(user), `${user} may run only ${READ_SCRIPT} as root`);
    if (rule) items.push({ ...rule, mode: '440', validate: 'visudo' });
  }
  if (spec.saveRules) {
    const layout = bootLayout(facts.osRelease);
    if (!layout) {
      throw new LvsError(
        'LVS_SETUP_UNSUPPORTED',
        `director ${input.director}: saveRules: /etc/os-release says ID=${facts.osRelease['ID'] ?? '(none)'}; lvsform knows where Debian- and RHEL-like systems restore the IPVS table at boot, not this one`,
        { hint },
      );
    }
    if (layout.family === 'debian') {
      const auto = debianAuto(facts.files[DEBIAN_DEFAULTS] ?? null);
      if (auto !== 'true') {
        items.push({
          kind: 'boot-service',
          action: 'update',
          name: DEBIAN_DEFAULTS,
          before: auto === undefined ? 'no AUTO' : `AUTO="${auto}"`,
          after: 'AUTO="true"',
          via: 'debian',
          detail: `/etc/init.d/ipvsadm restores ${layout.rulesFile} at boot`,
        });
      }
    } else if (facts.rhelServiceEnabled !== 'enabled') {
      items.push({
        kind: 'boot-service',
        action: 'update',
        name: RHEL_SERVICE,
        before: facts.rhelServiceEnabled ?? 'unknown',
        after: 'enabled',
        via: 'rhel',
        detail: `restores ${layout.rulesFile} at boot`,
      });
    }
    const current = facts.files[layout.rulesFile] ?? null;
    if (!rulesFileMatches(current, input.after)) {
      items.push({
        kind: 'rules',
        action: current === null ? 'create' : 'update',
        name: layout.rulesFile,
        via: layout.family,
        detail: `the whole table after the change (${input.after.services.length} service(s), unmanaged ones included), restored at boot`,
      });
    }
  }
  return items;
}

/** The boot unit of the director settings: written and enabled while it has work, disabled and removed after. */
function bootUnitItems(stack: string, facts: HostFacts, record: SettingsRecord | undefined): SetupItem[] {
  const content = bootUnitContent(stack, record);
  const path = bootUnitPath(stack);
  const enabled = (facts.files[bootUnitWantsPath(stack)] ?? null) !== null;
  const file = fileItem(path, facts.files[path], content, 'puts back the addresses, timeouts and sysctls lvsform set, at boot');
  if (content !== undefined) {
    const enable: SetupItem[] = enabled
      ? []
      : [{ kind: 'boot-service', action: 'update', name: bootUnitName(stack), before: 'disabled', after: 'enabled', via: 'systemd', detail: 'runs at boot' }];
    return [...(file ? [file] : []), ...enable];
  }
  const disable: SetupItem[] = enabled
    ? [
        {
          kind: 'boot-service',
          action: 'delete',
          name: bootUnitName(stack),
          before: 'enabled',
          after: 'disabled',
          via: 'systemd',
          detail: 'nothing to put back',
        },
      ]
    : [];
  return [...disable, ...(file ? [file] : [])];
}

/** `+ file /etc/…`, `~ sysctl net.ipv4.ip_forward 0 -> 1`: the item as one plan line (without colour). */
export function setupItemText(it: SetupItem): { sign: '+' | '~' | '-'; text: string } {
  const sign = it.action === 'create' ? '+' : it.action === 'delete' ? '-' : '~';
  const kind = it.kind === 'boot-service' ? (it.via === 'debian' ? 'file' : 'service') : it.kind === 'rules' ? 'file' : it.kind;
  const change = it.before !== undefined && it.after !== undefined ? ` ${it.before} -> ${it.after}` : '';
  return { sign, text: `${kind} ${it.name}${change}${it.detail ? `  (${it.detail})` : ''}` };
}
