// The budget of unauthenticated connections (broker/preauth.ts) wired to denials and the pre-auth
// alarm: raised when a bound closes a connection, cleared once the count is back under half its bound.
import type { BrokerContext } from './hooks/context.js';
import { PreAuthGate } from './preauth.js';

const scopeOf = (address: string, scope: 'address' | 'total') => (scope === 'address' ? `address ${address}` : 'all addresses');

export function createPreAuthGate(ctx: BrokerContext): PreAuthGate {
  const { limits, deny, alarms } = ctx;
  return new PreAuthGate(() => limits.preAuth, {
    evicted(address, scope) {
      const bound = scope === 'address' ? `${limits.preAuth.maxPerAddress} per address` : `${limits.preAuth.maxTotal} in total`;
      deny(
        'pre-auth',
        `unauthenticated connections at their bound (${bound}): an idle one from ${address} closed`,
        { remote: address },
        true,
      );
      alarms.raise({
        kind: 'pre-auth',
        state: 'raised',
        subject: scopeOf(address, scope),
        message: `unauthenticated connections at their bound (${bound}); the idlest ones from ${scope === 'address' ? address : 'the address holding the most'} are closed`,
      });
    },
    timedOut(address) {
      deny('pre-auth', `no authenticated CONNECT within ${limits.preAuth.connectTimeoutMs} ms: closed`, { remote: address }, true);
    },
  });
}

/** Pre-authentication alarms clear once their count is back under half its bound (periodic). */
export function clearPreAuthAlarms(ctx: BrokerContext, gate: PreAuthGate): void {
  const { limits } = ctx;
  for (const a of ctx.alarms.active()) {
    if (a.kind !== 'pre-auth') continue;
    const all = a.subject === 'all addresses';
    const count = all ? gate.total : gate.pendingFrom(a.subject.slice('address '.length));
    const bound = all ? limits.preAuth.maxTotal : limits.preAuth.maxPerAddress;
    if (count * 2 < bound)
      ctx.alarms.raise({
        kind: 'pre-auth',
        state: 'cleared',
        subject: a.subject,
        message: `unauthenticated connections of ${a.subject} back to ${count}`,
      });
  }
}
