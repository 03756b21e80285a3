/**
 * The text of lvsform's keepalived file for one director (model/director-pair.ts): one `vrrp_instance`, VRRP only.
 * Pure. No `virtual_server`: the IPVS table is lvsform's, and keepalived would fight it. No `lvs_sync_daemon`:
 * lvsform runs both sync daemons on every member, so the sync need not follow VRRP's state.
 *
 * keepalived (2.x) holds one address family per instance: the IPv4 VIPs go in `virtual_ipaddress` and the IPv6 ones in
 * `virtual_ipaddress_excluded`, which keepalived moves with the instance without putting them in the advertisement
 * (its documented way to mix families). An instance with IPv6 VIPs only advertises over IPv6 (VRRP version 3, which
 * has no authentication: the rules refuse `authPass` there).
 */
import { KEEPALIVED_INCLUDE, KEEPALIVED_MARK, type VrrpAddress, type VrrpSpec } from '../model/director-pair.ts';

function addressLine(a: VrrpAddress, device: string): string {
  return `        ${a.address}/${a.prefix} dev ${a.device ?? device}`;
}

/** The instance's file, marked as lvsform's. */
export function keepalivedContent(v: VrrpSpec): string {
  const v4 = v.addresses.filter((a) => !a.address.includes(':'));
  const v6 = v.addresses.filter((a) => a.address.includes(':'));
  const [main, excluded] = v4.length > 0 ? [v4, v6] : [v6, []];
  const lines = [
    `# Written by lvsform: VRRP for the VIPs of director pair ${v.instance}. lvsform rewrites it; change the app instead.`,
    `vrrp_instance ${v.instance} {`,
    `    state ${v.state}`,
    `    interface ${v.interface}`,
    `    virtual_router_id ${v.virtualRouterId}`,
    `    priority ${v.priority}`,
    `    advert_int ${v.advertInterval}`,
  ];
  if (v.garpMasterDelay !== undefined) lines.push(`    garp_master_delay ${v.garpMasterDelay}`);
  if (v.nopreempt) lines.push('    nopreempt');
  if (v.preemptDelay !== undefined) lines.push(`    preempt_delay ${v.preemptDelay}`);
  if (v.authPass !== undefined) lines.push('    authentication {', '        auth_type PASS', `        auth_pass ${v.authPass}`, '    }');
  if (v.unicast) lines.push(`    unicast_src_ip ${v.unicast.source}`, '    unicast_peer {', ...v.unicast.peers.map((p) => `        ${p}`), '    }');
  lines.push('    virtual_ipaddress {', ...main.map((a) => addressLine(a, v.interface)), '    }');
  if (excluded.length > 0) lines.push('    virtual_ipaddress_excluded {', ...excluded.map((a) => addressLine(a, v.interface)), '    }');
  lines.push('}', '');
  return lines.join('\n');
}

/** The main file lvsform writes when there is none: its mark and the include of every lvsform file. */
export function keepalivedMainContent(): string {
  return `${KEEPALIVED_MARK}\n${KEEPALIVED_INCLUDE}\n`;
}
