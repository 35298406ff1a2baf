// Texts other components write in English (the token's warning, the broker's refusals, the appliance's
// own audit details and fixed comments), shown in the reader's language. Only a known closed set is
// mapped; anything else — operator input, messages with free detail — is shown as it is.
import type { Catalogue } from './index.js';
import type { TokenFacts, TokenStatus } from '../../hsm/types.js';
import { SOFTHSM_WARNING } from '../../hsm/softhsm-datadir.js';
import { SOFTWARE_WARNING } from '../../hsm/token.js';
import { passwordProblemText } from './problems.js';

/** The token's warning by its stable code (or its known text, from a component without the code). */
export function tokenWarningText(t: Catalogue, s: Pick<TokenStatus, 'warning' | 'warningCode'>): string | undefined {
  const code =
    s.warningCode ?? (s.warning === SOFTHSM_WARNING ? 'softhsm-datadir' : s.warning === SOFTWARE_WARNING ? 'software-key' : undefined);
  return code ? t[`token.warning.${code}`] : s.warning;
}

/** The token's state line from its parts; a component that gives none keeps its English detail. */
export function tokenDetailText(t: Catalogue, time: (iso: string) => string, s: Pick<TokenStatus, 'detail' | 'facts'>): string {
  const f: TokenFacts | undefined = s.facts;
  if (!f) return s.detail;
  const expired = (x: { certificateExpired?: string }) =>
    x.certificateExpired !== undefined ? t['token.detail.certificateExpired'](time(x.certificateExpired)) : '';
  switch (f.state) {
    case 'ready':
      return t['token.detail.ready'](t['token.place'](f.place.label, f.place.slot), f.key, f.sessions) + expired(f);
    case 'lost':
      return t['token.detail.lost'](t['token.place'](f.place.label, f.place.slot), time(f.since), f.reason);
    case 'pin-refused':
      return t['token.detail.pinRefused'](t['token.place'](f.place.label, f.place.slot));
    case 'closed':
      return t['token.detail.closed'];
    case 'software':
      return t['token.detail.software'](f.alg) + expired(f);
  }
}

/** The kind of an audit actor other than an operator of the UI (`client`: a client id no system is configured for). */
export function actorKindText(t: Catalogue, kind: string): string {
  if (kind === 'system' || kind === 'operator' || kind === 'appliance') return t[`actorKind.${kind}`];
  if (kind === 'client') return t['actorKind.unknownClient'];
  return kind;
}

const EXACT: Record<string, (t: Catalogue) => string> = {
  'bad username or password': (t) => t['detail.badLogin'],
  'only the appliance subscribes to req/': (t) => t['detail.reqSubscribe'],
  '$-topics are not available to clients': (t) => t['detail.dollarTopics'],
  'backup started': (t) => t['detail.backupStarted'],
  'verification started': (t) => t['detail.verifyStarted'],
  'import started': (t) => t['detail.importStarted'],
  'one-time password issued': (t) => t['detail.oneTimePassword'],
  // The account store's reason for a refused login.
  'bad-credentials': (t) => t['detail.badLogin'],
  locked: (t) => t['detail.locked'],
};

/** Whose failed logins the broker counted: a system or a client address. */
function burstKey(t: Catalogue, key: string): string {
  const m = /^(system|address) (\S+)$/.exec(key);
  return !m ? key : m[1] === 'system' ? `${t['actorKind.system']} ${m[2]}` : `${t['audit.address']} ${m[2]}`;
}

/** Why the broker ended a burst of failed logins (broker/login-throttle.ts). */
function burstEnd(t: Catalogue, why: string): string {
  if (why === 'successful login') return t['detail.burstEnd.login'];
  const quiet = /^quiet for (\d+) ms$/.exec(why);
  return quiet ? t['detail.burstEnd.quiet'](Number(quiet[1])) : why;
}

const PATTERNS: [RegExp, (t: Catalogue, m: string[]) => string][] = [
  [/^(to\/|res\/) filter "(.*)" reaches beyond this system's own ID \((.*)\)$/, (t, m) => t['detail.filterBeyond'](m[1]!, m[2]!, m[3]!)],
  [/^client ID must equal the system ID (\S+)$/, (t, m) => t['detail.clientIdMismatch'](m[1]!)],
  [
    /^(.+): burst of failed logins over \((.+)\): (\d+) attempts, (\d+) passwords checked and wrong, (\d+) refused unchecked$/,
    (t, m) => t['detail.loginBurst'](burstKey(t, m[1]!), burstEnd(t, m[2]!), Number(m[3]), Number(m[4]), Number(m[5])),
  ],
  [/^(\d+) bytes$/, (t, m) => t['detail.bytes'](Number(m[1]))],
  // A configured system on the other segment's listener (broker/auth.ts).
  [
    /^system (\S+) \(role (\S+)\) is configured but connected on the wrong listener: (\S+|this listener) serves the (local|number-linkage) segment only; connect on a (local|number-linkage) listener$/,
    (t, m) =>
      t['detail.wrongListener'](
        m[1]!,
        m[2]!,
        m[3] === 'this listener' ? t['segment.thisListener'] : m[3]!,
        t[`segment.${m[4] as 'local' | 'number-linkage'}`],
        t[`segment.${m[5] as 'local' | 'number-linkage'}`],
      ),
  ],
  // The UI's own entries of a configuration change and of a system's certificate (admin-ui/pages/).
  [/^config version (\d+)$/, (t, m) => t['detail.configVersion'](Number(m[1]))],
  [
    /^notAfter (\S+?)(?:; pinned sha256 ([0-9a-f]{64}) in config version (\d+))?$/,
    (t, m) => t['detail.certIssued'](m[1]!, m[2], m[3] === undefined ? undefined : Number(m[3])),
  ],
  [/^sha256 ([0-9a-f]{64}), notAfter (\S+), config version (\d+)$/, (t, m) => t['detail.certUploaded'](m[1]!, m[2]!, Number(m[3]))],
  // A consistency run's end (admin-ui/adapters/consistency.ts).
  [
    /^(incremental|full) · (\S+) vs (\S+) · (\d+) difference\(s\), (\d+) request\(s\)$/,
    (t, m) =>
      t['detail.consistencyCheck'](
        t['cs.summary'](t[`cs.mode.${m[1] as 'incremental' | 'full'}`], m[2]!, m[3]!, Number(m[4])),
        Number(m[5]),
      ),
  ],
  [/^(new password|password): (.+)$/, (t, m) => passwordProblemText(t, m[0]!)],
];

/**
 * An audit entry's detail in the reader's language. `jobOutcome` renders a job's outcome from its
 * structured result when the job is still known (the stored line stays the English summary).
 */
export function auditDetailText(t: Catalogue, detail: string, jobOutcome?: (id: string) => string | undefined): string {
  const exact = EXACT[detail];
  if (exact) return exact(t);
  const job = /^job ([0-9a-f-]{36}): /.exec(detail);
  if (job) {
    const o = jobOutcome?.(job[1]!);
    return o !== undefined ? t['detail.job'](job[1]!, o) : detail;
  }
  for (const [re, text] of PATTERNS) {
    const m = re.exec(detail);
    if (m) return text(t, m);
  }
  return detail;
}

/** A configuration version's comment: the appliance's own fixed ones translated, an operator's as written. */
export function configCommentText(t: Catalogue, comment: string): string {
  if (comment === 'configuration at first start') return t['config.comment.firstStart'];
  if (comment === 'configuration file changed outside the UI') return t['config.comment.changedOutside'];
  return comment;
}

/** The example systems' descriptions of the embedded default (config/default.ts). */
const EXAMPLE_DESCRIPTIONS: Record<string, (t: Catalogue) => string> = {
  '住民基本台帳システム (example)': (t) => t['systems.exampleResidentRegister'],
  '統合端末 (example)': (t) => t['systems.exampleTerminal'],
  '番号連携サーバ (example)': (t) => t['systems.exampleNumberLinkage'],
  'monitoring (example)': (t) => t['systems.exampleMonitor'],
};

/** A system's description: the example configuration's own ones translated, an operator's as written. */
export function systemDescriptionText(t: Catalogue, description: string): string {
  return EXAMPLE_DESCRIPTIONS[description]?.(t) ?? description;
}
