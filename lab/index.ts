export { LAB_TOPOLOGY, MAX_DIRECTORS, type DirectorAddresses, directorAddresses, vip4, vip6 } from './addresses.ts';
export {
  CLUSTER_TOPOLOGY,
  type ClusterNic,
  type ClusterRole,
  clusterNetworkNames,
  clusterVmAddresses,
} from './cluster-addresses.ts';
export {
  type ClientExecOptions,
  type ClusterFacts,
  type ClusterVmFacts,
  type PrivateClusterVmFacts,
  clientExec,
  clusterFacts,
  clusterFactsOf,
} from './cluster-facts.ts';
export { clusterDevices, clusterDevicesPresent } from './cluster-network.ts';
export { CLUSTER_REQUIREMENTS, LAB_REQUIREMENTS, checkLabAddresses, checkLabHost } from './host-check.ts';
export { type LabExecOptions, type LabExecResult, labExec } from './lab-exec.ts';
export { type LabDownOptions, labDown, labLeftovers } from './lab-down.ts';
export { type LabStatus, type LabDirectorStatus, labStatus } from './lab-status.ts';
export { type LabTrafficOptions, type LabTrafficResult, labTraffic, parseTarget } from './lab-traffic.ts';
export { type LabRebootOptions, type LabRebootResult, labReboot } from './lab-reboot.ts';
export { type LabStartOptions, type LabStartResult, type LabStopOptions, type LabStopResult, labStart, labStop } from './lab-power.ts';
export { type LabUpOptions, labUp } from './lab-up.ts';
export { shQuote as shellQuote, shJoin as shellJoin } from '../providers/ipvs/host/shell-quote.ts';
export {
  DEFAULT_LAB_DIR,
  type DirectorBootOptions,
  type LabCluster,
  type LabDirector,
  type LabInit,
  type LabState,
  type LabVm,
  findDirector,
  labDir,
  labPaths,
  labVms,
  readLabState,
} from './state.ts';
