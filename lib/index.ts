export { App } from './app.ts';
export { LvsStack } from './lvs-stack.ts';
export {
  Director,
  type DirectorProps,
  type DirectorSetupProps,
  type IpvsSysctlProps,
  type IpvsTimeoutProps,
  type SshProps,
  type SyncDaemonProps,
  type VipProps,
} from './director.ts';
export {
  DirectorPair,
  type DirectorPairProps,
  type DirectorPairMember,
  type DirectorPairMemberProps,
  type VrrpProps,
  type VrrpAddressProps,
} from './director-pair.ts';
export { RealServerHost, type RealServerHostProps, type NatReturnProps } from './real-server-host.ts';
export {
  VirtualService,
  MAX_PERSISTENCE_TIMEOUT,
  type VirtualServiceProps,
  type PersistenceProps,
  type ServiceIdentity,
} from './virtual-service.ts';
export {
  RealServerPool,
  MAX_THRESHOLD,
  type RealServerPoolProps,
  type RealServerProps,
  type RealServer,
  type RuntimeManagedField,
} from './real-server-pool.ts';
export { KERNEL_SCHEDULERS, Scheduler, type SchedulerOptions, type HashSchedulerOptions, type SchedulerFlagBit, type SchedulerFlagName } from './scheduler.ts';
export { Forwarding, type TunnelOptions } from './forwarding.ts';
export { TunnelType } from './tunnel-type.ts';
export { TunnelChecksum } from './tunnel-checksum.ts';
export { Protocol } from './protocol.ts';
export { AddressFamily } from './address-family.ts';
export { PersistenceEngine } from './persistence-engine.ts';
export { ValidationError, isValidationError, type ValidationProblem } from './validation-error.ts';
export { FORMAT_VERSION } from './format-version.ts';
