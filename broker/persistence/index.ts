export { createLevelPersistence, LevelPersistence } from './levelPersistence.js';
export type { LevelPersistenceOptions, PersistenceAlarm } from './levelPersistence.js';
export type { ValueSealer } from './writeTypes.js';
export { wireDurableIngress } from './ingress.js';
export type { AuthorizePublish, DurableIngressOptions } from './ingress.js';
export { RequestQueue, REQUEST_TOPIC_PREFIX } from './requestQueue.js';
export type { LocalRequest } from './requestQueue.js';
