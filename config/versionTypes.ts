// The configuration versions as the appliance keeps them (config/versions.ts) and as the admin UI, the
// admin API and the CLI show and change them.
import type { ConfigProblem } from './load.js';
import type { ApplianceConfig } from './schema/index.js';

/** Who acts: recorded in the audit log with every change. */
export interface Actor {
  user: string;
  role: string;
  via: 'ui' | 'api' | 'cli';
  address?: string;
}

export interface ConfigVersionSummary {
  version: number;
  createdAt: string;
  author: string;
  comment: string;
  sha256: string;
}
export interface ConfigVersion extends ConfigVersionSummary {
  text: string;
  config: ApplianceConfig;
}
export interface DiffLine {
  op: ' ' | '+' | '-';
  text: string;
  oldNo?: number;
  newNo?: number;
}
/** What applying a version changes in the running appliance. */
export interface ApplyPlan {
  /** Top-level sections that changed. */
  changed: string[];
  /** Applied without dropping clients (ACL, roles, systems, limits, ...). */
  live: string[];
  /** Listener names restarted (only those whose own settings changed). */
  restartListeners: string[];
  /** Sections that take effect at the next restart of the appliance. */
  restartRequired: string[];
}
export type ApplyResult =
  { ok: true; version: ConfigVersionSummary; plan: ApplyPlan; unchanged?: boolean } | { ok: false; problems: ConfigProblem[] };

export interface ConfigService {
  current(): Promise<ConfigVersion>;
  validate(text: string): { ok: true; config: ApplianceConfig } | { ok: false; problems: ConfigProblem[] };
  apply(text: string, actor: Actor, comment?: string): Promise<ApplyResult>;
  versions(): Promise<ConfigVersionSummary[]>;
  get(version: number): Promise<ConfigVersion | undefined>;
  diff(from: number, to: number): Promise<DiffLine[]>;
  rollback(version: number, actor: Actor): Promise<ApplyResult>;
  /** A JSON document signed by the appliance signing key (JWS over the config text). */
  /** Undefined when no appliance Signer is wired. */
  exportSignedBackup?(actor: Actor): Promise<string>;
  importSignedBackup?(document: string, actor: Actor): Promise<ApplyResult>;
}
