// The ONE seam between the admin UI and the appliance. The UI renders and authorises; every change is
// made by these functions, which are the same ones the CLI calls. The integrator wires the real
// implementations (admin-ui/adapters/*); a group or function left undefined is shown as
// "not available in this build" — never replaced by invented data.
import type { ConfigProblem } from '../config/load.js';
import type { ApplianceConfig } from '../config/schema/index.js';
import type { TokenStatus } from '../hsm/types.js';
import type { DataKeyRotation } from '../gateway/crypto/rotation.js';
import type { OnlineOperations } from './adapters/operations.js';

// Configuration versions, and who acts, are the configuration's own types (config/versionTypes.ts).
import type {
  Actor,
  ApplyPlan,
  ApplyResult,
  ConfigService,
  ConfigVersion,
  ConfigVersionSummary,
  DiffLine,
} from '../config/versionTypes.js';
export type { Actor, ApplyPlan, ApplyResult, ConfigService, ConfigVersion, ConfigVersionSummary, DiffLine };

// ---- local systems (real: config changes through ConfigService; certificates need the dev CA) ----
export interface LocalSystemInput {
  id: string;
  role: string;
  description: string;
  enabled: boolean;
  /** Loopback plain listener only: the environment variable holding the system's password. */
  passwordEnv?: string;
}
export interface IssuedCertificate {
  certificatePem: string;
  privateKeyPem: string;
  caPem: string;
  notAfter: string;
  /** SHA-256 of the certificate's DER, pinned as systems[].certificateSha256 by this config version. */
  fingerprintSha256?: string;
  configVersion?: number;
}
/** An uploaded client certificate: pinned in a new config version, or the precise reason it was not. */
export type CertificateUploadResult =
  { ok: true; fingerprintSha256: string; notAfter: string; version: ConfigVersionSummary } | { ok: false; problems: ConfigProblem[] };
export interface SystemsService {
  list(): Promise<ApplianceConfig['systems']>;
  upsert(system: LocalSystemInput, actor: Actor): Promise<ApplyResult>;
  disable(id: string, actor: Actor): Promise<ApplyResult>;
  /** Issue a client certificate (CN = system id) from the dev CA. Undefined without a CA. */
  issueClientCert?(id: string, actor: Actor): Promise<IssuedCertificate>;
  /** Check an uploaded client certificate (PEM) and pin its fingerprint for the system (a new config version). */
  uploadClientCert?(id: string, certificatePem: string, actor: Actor): Promise<CertificateUploadResult>;
}

// ---- status (dashboard) ----
export interface ConnectedClient {
  clientId: string;
  systemId?: string;
  role?: string;
  listener?: string;
  connectedAt?: string;
  address?: string;
}
export interface RateBucket {
  startMs: number;
  inbound: number;
  outbound: number;
}
export interface LinkStatus {
  name: string;
  url: string;
  connected: boolean;
  detail: string;
  queueDepth?: number;
  oldestAgeMs?: number;
  deadLetters?: number;
  /** The parts of `detail`, so a page can word it in its own language and time zone. */
  state?: 'connecting' | 'up' | 'down' | 'closed';
  since?: string;
  lastError?: string;
}
export interface CertificateInfo {
  label: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
}
export interface DiskStatus {
  path: string;
  freeBytes: number;
  totalBytes: number;
  minFreeBytes: number;
}
export interface Alarm {
  severity: 'warning' | 'critical';
  source: string;
  message: string;
}
export interface StatusService {
  connectedClients?(): Promise<ConnectedClient[]>;
  /** Per-minute message counts over the last hour, oldest first. */
  messageRates?(): Promise<RateBucket[]>;
  links?(): Promise<LinkStatus[]>;
  tokenStatus?(): Promise<TokenStatus>;
  certificates?(): Promise<CertificateInfo[]>;
  disk?(): Promise<DiskStatus>;
  /** Alarms raised by components; the UI adds the ones it derives from the figures above. */
  alarms?(): Promise<Alarm[]>;
}

// ---- upstream links ----
export interface UplinkService {
  testConnection(name: string): Promise<{ ok: boolean; detail: string; elapsedMs: number }>;
}

// ---- queues (gateway/uplink) ----
export interface QueueSummary {
  name: string;
  depth: number;
  oldestAgeMs: number | null;
  deadLetters: number;
}
export interface DepthSample {
  atMs: number;
  depth: number;
}
/** Depth per link sampled every `intervalMs` by the running appliance, the last `windowMs` of it. */
export interface QueueDepthHistory {
  intervalMs: number;
  windowMs: number;
  links: Record<string, DepthSample[]>;
}
export interface QueueEntry {
  id: string;
  messageId?: string;
  type: string;
  to: string;
  enqueuedAt: string;
  attempts: number;
  lastError?: string;
  dead: boolean;
}
export interface QueuesService {
  list(): Promise<QueueSummary[]>;
  show(queue: string, options: { dead?: boolean; limit?: number }): Promise<QueueEntry[]>;
  retry(queue: string, id: string, actor: Actor): Promise<{ ok: boolean; detail: string }>;
  /** Deletes every dead letter of the queue; returns how many. */
  purgeDeadLetters(queue: string, actor: Actor): Promise<number>;
  depthHistory?(): Promise<QueueDepthHistory>;
}

// ---- keys and certificates (hsm/) ----
export interface KeyInfo {
  label: string;
  algorithm: string;
  kid?: string;
  certificateSubject?: string;
  notAfter?: string;
  /** Set on the rows of the certificate an upstream link signs with (gateway/uplink/linkSigners.ts). */
  link?: string;
}
export interface TrustAnchorInfo {
  file: string;
  subject: string;
  notAfter: string;
  fingerprintSha256: string;
}
export interface KeysService {
  list(): Promise<KeyInfo[]>;
  generate(label: string, actor: Actor): Promise<KeyInfo>;
  csr(label: string, subject: string, actor: Actor): Promise<string>;
  importCert(label: string, certificatePem: string, actor: Actor): Promise<KeyInfo>;
  trustAnchors(): Promise<TrustAnchorInfo[]>;
  addTrustAnchor?(pem: string, actor: Actor): Promise<TrustAnchorInfo>;
}

// ---- audit log (gateway/audit) ----
export interface AuditEvent {
  action: string;
  actor: string;
  role?: string;
  via?: string;
  outcome: 'ok' | 'refused' | 'failed';
  target?: string;
  detail?: string;
  address?: string;
}
export interface AuditRecord extends AuditEvent {
  seq: number;
  at: string;
  hash?: string;
}
export interface AuditQuery {
  actor?: string;
  action?: string;
  outcome?: string;
  since?: string;
  until?: string;
  limit?: number;
}
export interface AuditService {
  append(event: AuditEvent): Promise<void>;
  query?(q: AuditQuery): Promise<AuditRecord[]>;
  /** `detail` is the English line for the audit log; `intact` its parts when the chain is intact, for the page's own wording. */
  verify?(): Promise<{
    ok: boolean;
    checked: number;
    detail: string;
    intact?: { entries: number; checkpoints: number; unsignedTail: number; handovers: string[] };
  }>;
}

// ---- consistency check (gateway/cs/consistency) ----
export interface ConsistencyProgress {
  runId: string;
  state: 'running' | 'done' | 'failed' | 'interrupted';
  done: number;
  total: number;
  startedAt: string;
  /** The run's figures (the page words them); absent when `detail` gives the reason it stopped. */
  summary?: ConsistencySummary;
  detail?: string;
}
export interface ConsistencySummary {
  mode: 'incremental' | 'full';
  lgCode: string;
  peer: string;
  differences: number;
}
export interface ConsistencyResult {
  key: string;
  kind: string;
  detail: string;
}
export interface ConsistencyService {
  start(actor: Actor): Promise<{ runId: string }>;
  progress(runId?: string): Promise<ConsistencyProgress | undefined>;
  results(runId: string): Promise<ConsistencyResult[]>;
}

// ---- cluster (docs/cluster.md): this node's place in a two-node cluster ----
export interface ClusterMemberView {
  endpoint: string;
  healthy: boolean;
  detail: string;
}
export interface ClusterView {
  nodeId: string;
  role: 'starting' | 'standby' | 'leader' | 'stopped' | 'failed';
  /** Last log position applied to this node's store. */
  applied: number;
  /** Entries appended but not applied here (null: etcd not reachable). */
  lag: number | null;
  members: ClusterMemberView[];
  /** The replicated log's size, as the active node counts it (null on a standby). */
  log: { entries: number; bytes: number } | null;
}
export interface ClusterService {
  status(): Promise<ClusterView>;
  /** Hands the leadership to the other node (false: this node is not the active one); this process then ends and restarts as standby. */
  switchover(): Promise<boolean>;
  /** Before a backup: keeps the log after this node's applied position for a node restored from the backup; returns that position. */
  holdLogForCopy(): Promise<number>;
}

export interface ApplianceServices {
  config: ConfigService;
  systems: SystemsService;
  status: StatusService;
  audit: AuditService;
  uplinks?: UplinkService;
  queues?: QueuesService;
  keys?: KeysService;
  consistency?: ConsistencyService;
  /** Data keys of encryption at rest (gateway/crypto/rotation.ts): list, rotate without downtime. */
  dataKeys?: DataKeyRotation;
  /** Import, backup, audit verify/export, queue retry/purge on the running appliance (adapters/operations.ts). */
  operations?: OnlineOperations;
  /** Set when no upstream is configured and the appliance runs simulated ones (the label to show). */
  simulatedUpstreams?: string;
  /** Cluster mode only: role, applied position, lag, etcd members; the manual switchover. */
  cluster?: ClusterService;
}

export const NOT_AVAILABLE = 'not available in this build';
