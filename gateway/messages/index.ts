// Public surface of the message body schemas.
export * from './spec.js';
export * from './fields.js';
export * from './identityRecord.js';
export { identityMessages, MAX_SEARCH_HITS } from './identity.js';
export { moveOutCertificateSchema, moveOutMessages } from './moveout.js';
export { cardMessages, CARD_EVENTS, MAX_DELIVERY_ITEMS } from './card.js';
export { jlisMessages } from './jlis.js';
export {
  consistencyMessages,
  consistencySchemas,
  MAX_DIGESTS_PER_MESSAGE,
  MAX_ENTRIES_PER_MESSAGE,
  MAX_RECORDS_PER_MESSAGE,
} from './consistency.js';
export { numberLinkageMessages } from './numberLinkage.js';
export * from './registry.js';
export { EXAMPLE_BODIES, EXAMPLE_RECORD } from './examples.js';
