// MQTT fuzz cases: odd-but-valid packets of every type from mqtt-packet's generate(), then byte
// mutations (bit flips, truncation, remaining-length lies, splices, duplicates, garbage).
import mqttPacket from 'mqtt-packet';
import type { Rng } from './prng.js';

const TOPICS = [
  '#',
  '+',
  '+/#',
  '$SYS/broker/x',
  '$SYS/#',
  'res/rr-01',
  'res/mon-01',
  'res/+',
  'to/rr-01/identity.update',
  'to/+/#',
  'req/identity.update',
  'req/identity.update/extra',
  'req/',
  'req/+',
  'a/b/c',
  '/',
  '//',
  'ｒｅｓ/rr-01',
  'res/rr-01\u0000x',
  'x'.repeat(300),
  '住民/記録',
  '$share/g/res/rr-01',
];

function odd(r: Rng, short = false): string {
  return r.pick(TOPICS).slice(0, short ? 64 : undefined);
}

function payload(r: Rng): Buffer {
  return r.pick([
    () => Buffer.alloc(0),
    () => Buffer.from('{}'),
    () => Buffer.from('{"__proto__":{"polluted":1}}'),
    () => Buffer.from([0xff, 0xfe, 0xc0, 0x80]),
    () => r.bytes(r.int(200)),
    () => Buffer.from('['.repeat(2000)),
  ])();
}

/** One packet object of any type with odd field values, and the protocol version to generate it with. */
function oddPacket(r: Rng): { packet: Record<string, unknown>; v: 3 | 4 | 5 } {
  const v = r.pick([3, 4, 4, 4, 5] as const);
  const id = 1 + r.int(65535);
  const kind = r.int(14);
  const props =
    v === 5 && r.chance(0.5) ? { properties: { userProperties: { a: 'b' }, ...(r.chance(0.3) ? { topicAlias: 1 + r.int(10) } : {}) } } : {};
  switch (kind) {
    case 0:
      return {
        v,
        packet: {
          cmd: 'connect',
          protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
          protocolVersion: v,
          clean: r.chance(0.7),
          keepalive: r.pick([0, 1, 65535]),
          clientId: r.pick(['', 'mon-01', 'rr-01', 'x'.repeat(200), '$SYS', '#']),
          ...(r.chance(0.5) ? { username: r.pick(['mon-01', 'rr-01', '', 'admin']) } : {}),
          ...(r.chance(0.5) ? { password: Buffer.from(r.pick(['', 'wrong', 'x'.repeat(100)])) } : {}),
          ...(r.chance(0.3) ? { will: { topic: odd(r), payload: payload(r), qos: r.int(3), retain: r.chance(0.5) } } : {}),
        },
      };
    case 1:
    case 2:
    case 3: {
      const qos = r.int(3);
      return {
        v,
        packet: {
          cmd: 'publish',
          topic: odd(r),
          payload: payload(r),
          qos,
          retain: r.chance(0.3),
          dup: r.chance(0.2),
          ...(qos ? { messageId: id } : {}),
          ...props,
        },
      };
    }
    case 4:
      return {
        v,
        packet: {
          cmd: 'subscribe',
          messageId: id,
          subscriptions: Array.from({ length: 1 + r.int(4) }, () => ({
            topic: odd(r),
            qos: r.int(3),
            ...(v === 5 ? { nl: r.chance(0.5), rap: r.chance(0.5), rh: r.int(3) } : {}),
          })),
        },
      };
    case 5:
      return { v, packet: { cmd: 'unsubscribe', messageId: id, unsubscriptions: [odd(r), odd(r)] } };
    case 6:
      return { v, packet: { cmd: 'pingreq' } };
    case 7:
      return { v, packet: { cmd: 'puback', messageId: id } };
    case 8:
      return { v, packet: { cmd: 'pubrec', messageId: id } };
    case 9:
      return { v, packet: { cmd: 'pubrel', messageId: id } };
    case 10:
      return { v, packet: { cmd: 'pubcomp', messageId: id } };
    case 11:
      return { v, packet: { cmd: 'disconnect' } };
    case 12:
      return { v: 5, packet: { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'x' } } };
    default:
      return { v, packet: { cmd: 'pingresp' } };
  }
}

export function generateOdd(r: Rng): Buffer {
  for (;;) {
    const { packet, v } = oddPacket(r);
    try {
      return mqttPacket.generate(packet as never, { protocolVersion: v });
    } catch {
      /* a combination generate refuses: draw again */
    }
  }
}

function mutate(r: Rng, b: Buffer): Buffer {
  const c = Buffer.from(b);
  switch (r.int(7)) {
    case 0: {
      for (let i = 1 + r.int(8); i > 0 && c.length; i--) c[r.int(c.length)]! ^= 1 << r.int(8);
      return c;
    }
    case 1:
      return c.subarray(0, r.int(c.length));
    case 2: {
      // remaining length lies: any 1-4 byte varint, possibly non-minimal or over the 4-byte limit
      const len = r.pick([
        Buffer.from([0]),
        Buffer.from([0x7f]),
        Buffer.from([0xff, 0xff, 0xff, 0x7f]),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]),
        Buffer.from([0x80, 0x00]),
        r.bytes(1 + r.int(4)),
      ]);
      let at = 1;
      while (at < c.length && c[at]! & 0x80) at++;
      return Buffer.concat([c.subarray(0, 1), len, c.subarray(at + 1)]);
    }
    case 3: {
      const at = r.int(c.length + 1);
      return Buffer.concat([c.subarray(0, at), r.bytes(1 + r.int(16)), c.subarray(at)]);
    }
    case 4:
      return Buffer.concat([c, c]);
    case 5: {
      c[0] = (c[0]! & 0xf0) | r.int(16);
      return c;
    } // reserved flag bits
    default:
      return r.bytes(1 + r.int(64));
  }
}

/** A case: an odd-but-valid packet (1/3) or a mutated one (2/3). */
export function fuzzCase(r: Rng): { bytes: Buffer; mutated: boolean } {
  const base = generateOdd(r);
  if (r.chance(1 / 3)) return { bytes: base, mutated: false };
  return { bytes: mutate(r, base), mutated: true };
}

/** A CONNECT the broker accepts (v4), for sessions that fuzz past authentication. */
export function validConnect(clientId: string, username: string, password: string): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 0,
    clientId,
    username,
    password: Buffer.from(password),
  } as never);
}
