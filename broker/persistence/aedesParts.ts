// The CommonJS parts of aedes this persistence reuses (no usable typings): its packet class and its
// subscription tries, with the options aedes matches topics by.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type AnyPacket = Record<string, any>;
export const Packet = require('aedes-packet') as new (original: AnyPacket, broker?: unknown) => AnyPacket;
export const QlobberSub = require('qlobber/aedes/qlobber-sub') as new (opts: object) => {
  add(topic: string, val: object): void;
  remove(topic: string, val: object): void;
  match(topic: string): Array<{ clientId: string; topic: string; qos: number }>;
  subscriptionsCount: number;
};
export const { QlobberTrue } = require('qlobber') as {
  QlobberTrue: new (opts: object) => { add(t: string): void; test(t: string): boolean };
};

export const QLOBBER_OPTIONS = { wildcard_one: '+', wildcard_some: '#', separator: '/' };
