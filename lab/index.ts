export { LAB_TOPOLOGY, MAX_DIRECTORS, type DirectorAddresses, directorAddresses, vip4, vip6 } from './addresses.ts';
export { LAB_REQUIREMENTS, checkLabAddresses, checkLabHost } from './host-check.ts';
export { type LabExecOptions, type LabExecResult, labExec } from './lab-exec.ts';
export { type LabDownOptions, labDown } from './lab-down.ts';
export { type LabStatus, type LabDirectorStatus, labStatus } from './lab-status.ts';
export { type LabTrafficOptions, type LabTrafficResult, labTraffic, parseTarget } from './lab-traffic.ts';
export { type LabRebootOptions, type LabRebootResult, labReboot } from './lab-reboot.ts';
export { type LabUpOptions, labUp } from './lab-up.ts';
export { shQuote as shellQuote, shJoin as shellJoin } from '../providers/ipvs/host/shell-quote.ts';
export {
  DEFAULT_LAB_DIR,
  type DirectorBootOptions,
  type LabDirector,
  type LabInit,
  type LabState,
  findDirector,
  labDir,
  labPaths,
  readLabState,
} from './state.ts';
