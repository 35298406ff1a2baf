import { describe, expect, it } from 'vitest';
import { canPublish, canSubscribe, filterCovered, topicMatches, topicProblem, type BrokerIdentity } from '../../broker/acl.js';

const rr: BrokerIdentity = { systemId: 'rr-01', role: 'resident-register', send: new Set(['identity.update', 'movein.notice']) };
const term: BrokerIdentity = { systemId: 'term-01', role: 'terminal', send: new Set(['identity.verify']) };
const mon: BrokerIdentity = { systemId: 'mon-01', role: 'monitor', send: new Set() };
const anon: BrokerIdentity = { systemId: null, role: 'conformance', send: new Set(), grants: { publish: ['#'], subscribe: ['#', '+/+'] } };

const denied = (d: { ok: boolean }) => d.ok === false;

describe('canPublish (appliance contract)', () => {
  it('allows req/{type} only for the types of the role', () => {
    expect(canPublish(rr, 'req/identity.update').ok).toBe(true);
    expect(canPublish(rr, 'req/movein.notice').ok).toBe(true);
    expect(canPublish(rr, 'req/identity.verify')).toEqual({
      ok: false,
      reason: 'role resident-register may not send message type "identity.verify"',
    });
    expect(canPublish(term, 'req/identity.verify').ok).toBe(true);
    expect(canPublish(term, 'req/identity.update').ok).toBe(false);
    expect(canPublish(mon, 'req/identity.update').ok).toBe(false);
  });
  it('denies extra levels, res/, to/, $SYS and everything else', () => {
    for (const t of [
      'req/identity.update/x',
      'req',
      'req/',
      'res/rr-01',
      'res/term-01',
      'to/rr-01/moveout.cert',
      'to/lg:242012/x',
      '$SYS/broker/x',
      '$SYS',
      'hello',
      '/req/identity.update',
      'REQ/identity.update',
    ]) {
      const d = canPublish(rr, t);
      expect(denied(d), t).toBe(true);
      if (!d.ok) expect(d.reason.length).toBeGreaterThan(5);
    }
  });
  it('with an intake that answers refusals, admits req/{type} of any one level from an authenticated system only', () => {
    const policy = { intakeAnswersRequests: true };
    expect(canPublish(term, 'req/identity.update', policy).ok).toBe(true); // the intake answers `forbidden`
    expect(canPublish(mon, 'req/no.such.type', policy).ok).toBe(true); // the intake answers with an error
    expect(canPublish({ ...anon, grants: undefined }, 'req/identity.update', policy).ok).toBe(false);
    for (const t of ['req/identity.update/x', 'req', 'req/+', 'res/rr-01', 'to/rr-01/moveout.cert', '$SYS/x', 'hello']) {
      expect(denied(canPublish(term, t, policy)), t).toBe(true);
    }
  });
  it('refuses wildcards and malformed topics in a topic name', () => {
    for (const t of ['req/+', 'req/#', '#', '', 'a\u0000b']) expect(denied(canPublish(rr, t)), t).toBe(true);
  });
  it('standalone grants allow arbitrary topics but never $SYS', () => {
    expect(canPublish(anon, 'TopicA/B').ok).toBe(true);
    expect(canPublish(anon, 'req/anything').ok).toBe(true);
    expect(canPublish(anon, '$SYS/x').ok).toBe(false);
    // "#" does not match $-topics, so a $-topic needs its own grant.
    expect(canPublish(anon, '$test/x').ok).toBe(false);
    expect(canPublish({ ...anon, grants: { publish: ['$test/#'], subscribe: [] } }, '$test/x').ok).toBe(true);
  });
});

describe('canSubscribe (appliance contract)', () => {
  it('allows exactly res/{own id} and to/{own id}/...', () => {
    for (const f of ['res/rr-01', 'to/rr-01/#', 'to/rr-01/+', 'to/rr-01/moveout.cert', 'to/rr-01/movein.notice']) {
      expect(canSubscribe(rr, f).ok, f).toBe(true);
    }
  });
  it('denies every filter that reaches other systems or the appliance', () => {
    const cases = [
      '#',
      '+',
      '+/#',
      '+/rr-01',
      'res/+',
      'res/#',
      'res/term-01',
      'res/rr-01/#',
      'res/rr-01/x',
      'to/#',
      'to/+/#',
      'to/+/moveout.cert',
      'to/term-01/#',
      'to/rr-01x/#',
      'req/#',
      'req/identity.update',
      'req/+',
      '$SYS/#',
      '$SYS/+/heartbeat',
      '$share/g/res/rr-01',
      'anything/else',
      'res',
      'to',
      'to/rr-0+/#',
    ];
    for (const f of cases) {
      const d = canSubscribe(rr, f);
      expect(denied(d), f).toBe(true);
    }
    expect(canSubscribe(rr, 'res/+')).toEqual({ ok: false, reason: 'res/ filter "res/+" reaches beyond this system\'s own ID (rr-01)' });
    expect(canSubscribe(rr, '#')).toEqual({ ok: false, reason: 'filter "#" would cross systems' });
  });
  it('refuses malformed filters', () => {
    for (const f of ['res/rr-01#', 'to/rr-01/#/x', 'to/rr-01/a+', '']) expect(denied(canSubscribe(rr, f)), f).toBe(true);
  });
  it('standalone grants cover sub-filters, with $-topics kept apart', () => {
    for (const f of ['#', 'a/b', '+/+', 'a/#', '+/b']) expect(canSubscribe(anon, f).ok, f).toBe(true);
    expect(canSubscribe(anon, '$SYS/#').ok).toBe(false);
    expect(canSubscribe({ ...anon, grants: { publish: [], subscribe: ['+/+'] } }, 'a/#').ok).toBe(false);
    expect(canSubscribe({ ...anon, grants: { publish: [], subscribe: ['$SYS/#'] } }, '$SYS/x/y').ok).toBe(true);
  });
});

describe('matching primitives', () => {
  it('topicMatches follows MQTT 3.1.1 §4.7', () => {
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+', 'a/b')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('+/+', '/x')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('+/x', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
  });
  it('filterCovered is subset inclusion', () => {
    expect(filterCovered('#', 'a/+/c')).toBe(true);
    expect(filterCovered('a/+', 'a/b')).toBe(true);
    expect(filterCovered('a/+', 'a/+')).toBe(true);
    expect(filterCovered('a/+', 'a/#')).toBe(false);
    expect(filterCovered('a/b', 'a/+')).toBe(false);
    expect(filterCovered('a/#', 'a/#')).toBe(true);
    expect(filterCovered('a/b/#', 'a/#')).toBe(false);
    expect(filterCovered('#', '$SYS/#')).toBe(false);
  });
  it('topicProblem names the fault', () => {
    expect(topicProblem('a/#/b', true)).toBe('"#" must be a whole last level');
    expect(topicProblem('a/b+', true)).toBe('"+" must be a whole level');
    expect(topicProblem('a/+', false)).toBe('wildcard in a topic name');
    expect(topicProblem('a/b', false)).toBeNull();
  });
});
