/**
 * Every request a host answers, as one discriminated union, and the module of each kind. Adding a kind: one module in
 * this folder (its request, its reply, its script and parser, as `lock.ts`), one member in each union below and one
 * line in `KINDS` (the compiler asks for it), then an answer in the test fake (its `answer` switch asks too).
 */
import { type BatchRecord, type BatchReply, type BatchRequest, batch } from './batch.ts';
import { type CapabilitiesReply, type CapabilitiesRequest, capabilities } from './capabilities.ts';
import { type CountersReply, type CountersRequest, counters } from './counters.ts';
import { type DoctorFactsReply, type DoctorFactsRequest, doctorFacts } from './doctor-facts.ts';
import { type FactsReply, type FactsRequest, facts } from './facts.ts';
import { type FastReadReply, type FastReadRequest, fastRead } from './fast-read.ts';
import { type ForceUnlockReply, type ForceUnlockRequest, forceUnlock } from './force-unlock.ts';
import type { RequestKind } from './kind.ts';
import { type LockReply, type LockRequest, lock, lockRequest } from './lock.ts';
import { type ProcReply, type ProcRequest, proc } from './proc.ts';
import { type RealServerApplyReply, type RealServerApplyRequest, realServerApply } from './real-server-apply.ts';
import { type RealServerReadReply, type RealServerReadRequest, realServerRead } from './real-server-read.ts';
import { type RealServerRecordReply, type RealServerRecordRequest, realServerRecord } from './real-server-record.ts';
import { type ReadTableReply, type ReadTableRequest, readTable } from './read-table.ts';
import { type SaveRulesReply, type SaveRulesRequest, saveRules } from './save-rules.ts';
import { type SettingsApplyReply, type SettingsApplyRequest, settingsApply } from './settings-apply.ts';
import { type SettingsReadReply, type SettingsReadRequest, settingsRead } from './settings-read.ts';
import { type SetupReply, type SetupRequest, setup } from './setup.ts';
import { type StatusReply, type StatusRequest, status } from './status.ts';
import { type StoreTableReply, type StoreTableRequest, storeTable } from './store-table.ts';
import { type SyncReply, type SyncRequest, sync } from './sync.ts';
import { type UnlockReply, type UnlockRequest, unlock } from './unlock.ts';
import { type WriteRecordReply, type WriteRecordRequest, writeRecord } from './write-record.ts';

export type HostRequest =
  | LockRequest
  | CapabilitiesRequest
  | ReadTableRequest
  | FastReadRequest
  | ProcRequest
  | FactsRequest
  | SettingsReadRequest
  | SettingsApplyRequest
  | SetupRequest
  | BatchRequest
  | CountersRequest
  | WriteRecordRequest
  | StoreTableRequest
  | SaveRulesRequest
  | SyncRequest
  | StatusRequest
  | DoctorFactsRequest
  | ForceUnlockRequest
  | UnlockRequest
  | RealServerReadRequest
  | RealServerApplyRequest
  | RealServerRecordRequest;

export type HostReply =
  | LockReply
  | CapabilitiesReply
  | ReadTableReply
  | FastReadReply
  | ProcReply
  | FactsReply
  | SettingsReadReply
  | SettingsApplyReply
  | SetupReply
  | BatchReply
  | CountersReply
  | WriteRecordReply
  | StoreTableReply
  | SaveRulesReply
  | SyncReply
  | StatusReply
  | DoctorFactsReply
  | ForceUnlockReply
  | UnlockReply
  | RealServerReadReply
  | RealServerApplyReply
  | RealServerRecordReply;

export type RequestKindName = HostRequest['kind'];

/** Each kind's reply. */
export type ReplyByKind = { [K in RequestKindName]: Extract<HostReply, { readonly kind: K }> };

/** The reply to a request. */
export type ReplyOf<R extends HostRequest> = ReplyByKind[R['kind']];

/** The replies to a list of requests, in its order: a tuple for a tuple. */
export type RepliesOf<R extends readonly HostRequest[]> = {
  -readonly [I in keyof R]: R[I] extends { readonly kind: infer K extends RequestKindName } ? ReplyByKind[K] : never;
};

/** The module of each kind. */
export const KINDS: { readonly [K in RequestKindName]: RequestKind<Extract<HostRequest, { kind: K }>, Extract<HostReply, { kind: K }>> } = {
  lock,
  capabilities,
  'read-table': readTable,
  'fast-read': fastRead,
  proc,
  facts,
  'settings-read': settingsRead,
  'settings-apply': settingsApply,
  setup,
  batch,
  counters,
  'write-record': writeRecord,
  'store-table': storeTable,
  'save-rules': saveRules,
  sync,
  status,
  'doctor-facts': doctorFacts,
  'force-unlock': forceUnlock,
  unlock,
  'real-server-read': realServerRead,
  'real-server-apply': realServerApply,
  'real-server-record': realServerRecord,
};

export { lockRequest };

/** The reply of a kind in a round trip's replies (for a list built with optional members). */
export function replyOf<K extends RequestKindName>(replies: readonly HostReply[], kind: K): Extract<HostReply, { kind: K }> | undefined {
  return replies.find((r): r is Extract<HostReply, { kind: K }> => r.kind === kind);
}

export type {
  BatchRecord,
  BatchRequest,
  CapabilitiesRequest,
  CountersRequest,
  DoctorFactsRequest,
  FactsRequest,
  FastReadRequest,
  ForceUnlockRequest,
  LockRequest,
  ProcRequest,
  ReadTableRequest,
  RealServerApplyRequest,
  RealServerReadRequest,
  RealServerRecordRequest,
  SaveRulesRequest,
  SettingsApplyRequest,
  SettingsReadRequest,
  SetupRequest,
  StatusRequest,
  StoreTableRequest,
  UnlockRequest,
  WriteRecordRequest,
};
export type {
  BatchReply,
  CapabilitiesReply,
  CountersReply,
  DoctorFactsReply,
  FactsReply,
  FastReadReply,
  ForceUnlockReply,
  LockReply,
  ProcReply,
  ReadTableReply,
  RealServerApplyReply,
  RealServerReadReply,
  RealServerRecordReply,
  SaveRulesReply,
  SettingsApplyReply,
  SettingsReadReply,
  SetupReply,
  StatusReply,
  StoreTableReply,
  UnlockReply,
  WriteRecordReply,
};
