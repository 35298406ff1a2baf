// SUBSCRIBE: each filter against the role's ACL, after aedes lib/handlers/subscribe.js. A refused
// filter gets SUBACK 0x80; the others in the packet are unaffected.
import type { AedesOptions, Subscription } from 'aedes';
import { canSubscribe } from '../acl.js';
import type { BrokerContext } from './context.js';

export function createAuthorizeSubscribe(ctx: BrokerContext): NonNullable<AedesOptions['authorizeSubscribe']> {
  return function authorizeSubscribe(client, sub: Subscription, done) {
    const who = ctx.connections.identities.get(client);
    const d = who ? canSubscribe(who, sub.topic) : { ok: false as const, reason: 'unauthenticated client' };
    if (d.ok) return done(null, sub);
    ctx.deny('acl-subscribe', d.reason, { client, topic: sub.topic });
    done(null, null);
  };
}
