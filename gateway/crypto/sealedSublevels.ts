// Where values sealed with a data key live: the re-encryption targets of a rotation. Whole top-level
// sublevels, so every nested sublevel under them is covered whatever its layout (the identity
// store's records, history and indexes; the broker's per-client queues). A sublevel missing here is
// caught before any key is retired: the rotation counts sealed values over the whole database.
// Not sealed (plain JSON/utf8, checked in the code): audit (hashed keys, no personal data), provision,
// seen, ui, keys (wrapped data keys), inbox-ids (upstream message ids).
import { SUBLEVELS } from '../../platform/store/db.js';

export const SEALED_SUBLEVELS = [
  SUBLEVELS.identity, // 本人確認情報: IdentityStore codec (gateway/cs/identityStore.ts), all nested sublevels
  SUBLEVELS.moveout, // 転出証明書情報: MoveOutCertificates (encodings.moveout)
  SUBLEVELS.consistency, // consistency sessions and difference lists: the identity store's codec (gateway/cs/consistency/sessionStore.ts)
  SUBLEVELS.local, // replies and pushes to local systems: localOutbox (encodings.local)
  SUBLEVELS.answers, // replies kept for resends: gateway/local/answers.ts (encodings.answers)
  SUBLEVELS.outbox, // upstream store-and-forward: Outbox (valueEncodings.outbox)
  SUBLEVELS.inbox, // upstream messages seen: Inbox (valueEncodings.inbox)
  SUBLEVELS.broker, // broker persistence (broker/persistence committer `sealer`): queues, retained, wills
  SUBLEVELS.ingress, //   durable ingress, QoS 1 publishes before PUBACK
  SUBLEVELS.requests, //   local req/# requests awaiting the gateway (受付)
  SUBLEVELS.pending, // GW transient store (gateway/gw/purge.ts TRANSIENT_SUBLEVELS): JSON today, scanned in case it is sealed
] as const;
