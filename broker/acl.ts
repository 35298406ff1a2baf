// Topic ACL (default deny). Pure: no I/O, no aedes types, so every rule is tested exhaustively.
// Contract topics: req/{type} (publish, by role), res/{systemId} and to/{systemId}/# (subscribe, own id only).
// Standalone broker mode adds per-role grants of arbitrary MQTT filters for conformance suites.

export interface BrokerIdentity {
  /** System ID (certificate CN or plain-listener username); null for an anonymous standalone client. */
  systemId: string | null;
  role: string;
  /** Message types this role may publish on req/{type}. */
  send: ReadonlySet<string>;
  /** Standalone mode only: extra filters this role may publish to / subscribe with. */
  grants?: { publish: readonly string[]; subscribe: readonly string[] };
}

export type AclDecision = { ok: true } | { ok: false; reason: string };

const allow: AclDecision = { ok: true };
const deny = (reason: string): AclDecision => ({ ok: false, reason });

/** Why a topic or filter is malformed, or null when it is well formed (MQTT 3.1.1 §4.7). */
export function topicProblem(topic: string, isFilter: boolean): string | null {
  if (topic.length === 0) return 'empty topic';
  if (topic.includes('\u0000')) return 'topic contains U+0000';
  if (Buffer.byteLength(topic, 'utf8') > 65535) return 'topic longer than 65535 bytes';
  const levels = topic.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (!isFilter && (l.includes('+') || l.includes('#'))) return 'wildcard in a topic name';
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return '"#" must be a whole last level';
    if (l.includes('+') && l !== '+') return '"+" must be a whole level';
  }
  return null;
}

/** MQTT matching of a topic name against a filter, including "$ topics are not matched by leading wildcards". */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const fl = f[i]!;
    if (fl === '#') return true;
    if (i >= t.length) return false;
    if (fl !== '+' && fl !== t[i]) return false;
  }
  return f.length === t.length;
}

/** True when every topic that `filter` can match is also matched by `grant` (subscription ⊆ grant). */
export function filterCovered(grant: string, filter: string): boolean {
  // "#" and "+/…" never match $-topics, so they cannot cover a $-filter.
  if (filter.startsWith('$') && (grant.startsWith('+') || grant.startsWith('#'))) return false;
  const g = grant.split('/');
  const f = filter.split('/');
  for (let i = 0; i < g.length; i++) {
    const gl = g[i]!;
    if (gl === '#') return true;
    if (i >= f.length) return false;
    const fl = f[i]!;
    if (fl === '#') return false;
    if (gl === '+') continue;
    if (fl === '+' || fl !== gl) return false;
  }
  // A filter ending in "#" also matches its parent level; the grant must have ended there too.
  return f.length === g.length;
}

export interface PublishPolicy {
  /**
   * The appliance's intake consumes req/: a request of a type the role may not send is admitted so
   * that the intake answers it with an error `forbidden` (audited), as the contract requires of every
   * request, instead of a bare disconnect. Off when no intake runs (`juki-gw broker`, standalone).
   */
  intakeAnswersRequests?: boolean;
}

export function canPublish(who: BrokerIdentity, topic: string, policy: PublishPolicy = {}): AclDecision {
  const problem = topicProblem(topic, false);
  if (problem) return deny(`malformed topic: ${problem}`);
  // $SYS carries the broker's own heartbeat and client-takeover signals: a client may never write there.
  if (topic.startsWith('$SYS')) return deny('publishing to $SYS is reserved to the broker');
  const levels = topic.split('/');
  if (levels[0] === 'req' && levels.length === 2 && who.send.has(levels[1]!)) return allow;
  if (who.grants?.publish.some((g) => topicMatches(g, topic))) return allow;
  if (policy.intakeAnswersRequests && levels[0] === 'req' && levels.length === 2 && who.systemId !== null) return allow;
  if (levels[0] === 'req') {
    return deny(
      levels.length === 2 ? `role ${who.role} may not send message type "${levels[1]}"` : 'req/ takes exactly one level: req/{type}',
    );
  }
  if (levels[0] === 'res' || levels[0] === 'to') return deny(`only the appliance publishes on ${levels[0]}/`);
  return deny('topic outside the contract (default deny)');
}

export function canSubscribe(who: BrokerIdentity, filter: string): AclDecision {
  const problem = topicProblem(filter, true);
  if (problem) return deny(`malformed filter: ${problem}`);
  if (who.grants?.subscribe.some((g) => filterCovered(g, filter))) return allow;
  if (filter.startsWith('$')) return deny('$-topics are not available to clients');
  const id = who.systemId;
  const levels = filter.split('/');
  const head = levels[0];
  if (head === 'res' || head === 'to') {
    if (id === null) return deny(`anonymous clients have no ${head}/ topics`);
    if (levels.length < 2 || levels[1] !== id) {
      return deny(`${head}/ filter "${filter}" reaches beyond this system's own ID (${id})`);
    }
    if (head === 'res' && levels.length !== 2) return deny(`only res/${id} exists for this system`);
    return allow;
  }
  if (head === 'req') return deny('only the appliance subscribes to req/');
  if (head === '#' || head === '+') return deny(`filter "${filter}" would cross systems`);
  return deny('filter outside the contract (default deny)');
}
