import { describe, expect, it } from 'vitest';
import { Forwarding, TunnelChecksum, TunnelType, ValidationError } from '../../../lib/index.ts';

describe('Forwarding', () => {
  it.each([
    ['NAT', () => Forwarding.NAT, { method: 'masq' }],
    ['DIRECT_ROUTING', () => Forwarding.DIRECT_ROUTING, { method: 'droute' }],
    ['tunnel()', () => Forwarding.tunnel(), { method: 'tunnel', tunnelType: TunnelType.IPIP }],
    [
      'GUE with port',
      () => Forwarding.tunnel({ type: TunnelType.GUE, port: 6080 }),
      { method: 'tunnel', tunnelType: TunnelType.GUE, tunnelPort: 6080, tunnelChecksum: TunnelChecksum.NONE },
    ],
    [
      'GUE with remote checksum',
      () => Forwarding.tunnel({ type: TunnelType.GUE, port: 6080, checksum: TunnelChecksum.REMOTE_CHECKSUM }),
      { method: 'tunnel', tunnelType: TunnelType.GUE, tunnelPort: 6080, tunnelChecksum: TunnelChecksum.REMOTE_CHECKSUM },
    ],
    [
      'GRE with checksum',
      () => Forwarding.tunnel({ type: TunnelType.GRE, checksum: TunnelChecksum.CHECKSUM }),
      { method: 'tunnel', tunnelType: TunnelType.GRE, tunnelChecksum: TunnelChecksum.CHECKSUM },
    ],
  ])('%s carries its method and tunnel settings', (_name, make, expected) => {
    // WHEN the forwarding is built
    const f = make();
    // THEN it holds exactly the settings the kernel takes for it
    expect({ method: f.method, tunnelType: f.tunnelType, tunnelPort: f.tunnelPort, tunnelChecksum: f.tunnelChecksum }).toEqual({
      tunnelType: undefined,
      tunnelPort: undefined,
      tunnelChecksum: undefined,
      ...expected,
    });
  });

  it.each([
    ['GUE without a port', { type: TunnelType.GUE }, /a GUE tunnel needs port/],
    ['GUE with port 0', { type: TunnelType.GUE, port: 0 }, /port must be an integer 1\.\.65535; got 0/],
    ['GUE with port 70000', { type: TunnelType.GUE, port: 70000 }, /got 70000/],
    ['a port on ipip', { port: 6080 }, /port is for GUE tunnels only; got port 6080 on a ipip tunnel/],
    ['a port on GRE', { type: TunnelType.GRE, port: 6080 }, /port is for GUE tunnels only/],
    ['a checksum on ipip', { checksum: TunnelChecksum.CHECKSUM }, /checksum is for GUE and GRE tunnels only/],
    ['remote checksum on GRE', { type: TunnelType.GRE, checksum: TunnelChecksum.REMOTE_CHECKSUM }, /remote checksum offload is a GUE option/],
  ])('tunnel() refuses %s', (_case, options, message) => {
    // WHEN a tunnel is given options its type cannot take
    const make = () => Forwarding.tunnel(options);
    // THEN it throws at once
    expect(make).toThrow(ValidationError);
    expect(make).toThrow(message);
  });
});
