// Password guessing on the plain loopback listener: after `limits.authFailures.allowed` wrong passwords
// in a row, attempts for that system and from that address are refused unchecked (CONNACK 5) for a
// doubling backoff, so a correct guess in that time is refused too; the burst is audited a fixed
// number of times, not once per guess. Measures checked guesses per second (the issue: 200 in 382 ms).
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectPacket } from '../helpers/mqtt.js';
import { PASSWORD, startBrokerFixture, until, type BrokerFixture } from '../fixtures/broker-setup.js';

let f: BrokerFixture;
let port: number;
beforeAll(async () => {
  // Backoffs of seconds, not milliseconds: the checks made while it runs must fall inside it on a loaded machine.
  f = await startBrokerFixture({ limits: { authFailures: { allowed: 5, backoffMs: 3000, maxBackoffMs: 6000, forgetAfterMs: 6000 } } });
  port = f.broker.address('plain').port;
});
afterAll(async () => {
  await f?.close();
});

/** The CONNACK return code for one login over a raw socket (from `from`, a loopback source address). */
function login(user: string, password: string, from = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ port, host: '127.0.0.1', localAddress: from });
    let got = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4) {
        s.destroy();
        resolve(got[3]!);
      }
    });
    s.once('connect', () => s.write(connectPacket(user, user, password)));
    s.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

it('backs off per system and per address after failures, refuses even the right password meanwhile, audits per burst', async () => {
  const GUESSES = 200;
  const t0 = performance.now();
  const codes: number[] = [];
  for (let i = 0; i < GUESSES; i++) codes.push(await login('rr-01', `guess-${i}`));
  const ms = performance.now() - t0;
  const checked = codes.filter((c) => c === 4).length;
  console.log(
    `[guessing] ${GUESSES} attempts in ${ms.toFixed(0)} ms: ${checked} passwords checked (${(checked / (ms / 1000)).toFixed(1)} checked guesses/s), ${codes.filter((c) => c === 5).length} refused unchecked`,
  );
  expect(codes.slice(0, 5)).toEqual([4, 4, 4, 4, 4]);
  expect(codes[5]).toBe(5);
  expect(checked).toBeLessThan(GUESSES / 4);

  // While the backoff runs: the right password, another system from the same address, the same
  // system from another address — all refused unchecked. Another system elsewhere is unaffected.
  expect(await login('rr-01', PASSWORD)).toBe(5);
  expect(await login('term-01', PASSWORD)).toBe(5);
  expect(await login('rr-01', PASSWORD, '127.0.0.2')).toBe(5);
  expect(await login('term-01', PASSWORD, '127.0.0.3')).toBe(0);

  // Audited per burst: each failure until the backoff starts, and each key's backoff once — not 200 entries.
  const during = f.denials().filter((d) => d.reason === 'auth' || d.reason === 'auth-throttled');
  expect(during.map((d) => [d.reason, d.detail])).toEqual([
    ...Array.from({ length: 5 }, () => ['auth', 'bad username or password']),
    [
      'auth-throttled',
      'system rr-01: 5 failed logins in a row; its attempts are refused unchecked for 3000 ms, doubling with each further failure up to 6000 ms',
    ],
    [
      'auth-throttled',
      'address 127.0.0.1: 5 failed logins in a row; its attempts are refused unchecked for 3000 ms, doubling with each further failure up to 6000 ms',
    ],
  ]);

  // Once the backoff is over, the right password is checked and accepted again.
  await until(async () => (await login('rr-01', PASSWORD, '127.0.0.4')) === 0, 30_000, 'login after the backoff');
  // Each burst ends with one summary: at the system's successful login, and when the address fell quiet.
  const summaries = await until(
    () => {
      const s = f.denials('auth-throttled').slice(2);
      return s.length >= 2 && s;
    },
    30_000,
    'burst summaries',
  );
  expect(summaries.map((d) => d.detail)).toEqual([
    expect.stringMatching(
      /^system rr-01: burst of failed logins over \(successful login\): \d+ attempts, \d+ passwords checked and wrong, \d+ refused unchecked$/,
    ),
    expect.stringMatching(
      /^address 127\.0\.0\.1: burst of failed logins over \(quiet for 6000 ms\): \d+ attempts, \d+ passwords checked and wrong, \d+ refused unchecked$/,
    ),
  ]);
  const addr = /: (\d+) attempts, (\d+) passwords checked and wrong, (\d+) refused unchecked$/.exec(summaries[1]!.detail)!;
  expect(Number(addr[1])).toBe(GUESSES + 2); // the guesses, the right password and term-01 from 127.0.0.1
  expect(Number(addr[2])).toBe(checked);
}, 60_000);
