// The login backoff on its own (broker/login-throttle.ts, pure; the clock is passed in).
import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../broker/login-throttle.js';

const limits = { allowed: 3, backoffMs: 100, maxBackoffMs: 400, forgetAfterMs: 1000 };
const KEYS = ['system rr-01', 'address 127.0.0.1'];

describe('LoginThrottle', () => {
  it('refuses after `allowed` failures, doubling per further failure up to the bound', () => {
    const t = new LoginThrottle(() => limits);
    expect(t.failed(KEYS, 0).audit).toBe(true);
    expect(t.failed(KEYS, 1).audit).toBe(true);
    expect(t.refuses(KEYS, 2)).toBeNull();
    expect(t.failed(KEYS, 2)).toMatchObject({ audit: true, notices: [{ key: KEYS[0] }, { key: KEYS[1] }] }); // the backoff starts, announced once per key
    expect(t.refuses(KEYS, 101)).toBe('system rr-01');
    expect(t.refuses(KEYS, 102)).toBeNull();
    expect(t.failed(KEYS, 102)).toEqual({ audit: false, notices: [] }); // in the burst's summary, not announced again
    expect(t.refuses(KEYS, 301)).toBe('system rr-01'); // 200 ms now
    expect(t.refuses(KEYS, 302)).toBeNull();
    t.failed(KEYS, 302); // 400
    t.failed(KEYS, 702); // would be 800: bounded at 400
    expect(t.refuses(KEYS, 1101)).toBe('system rr-01');
    expect(t.refuses(KEYS, 1102)).toBeNull();
  });

  it('keeps other keys apart, and refusals in backoff do not lengthen it', () => {
    const t = new LoginThrottle(() => limits);
    for (let i = 0; i < 3; i++) t.failed(KEYS, 0);
    expect(t.refuses(['system term-01', 'address 127.0.0.2'], 1)).toBeNull();
    expect(t.refuses(['system rr-01', 'address 127.0.0.2'], 1)).toBe('system rr-01');
    expect(t.refuses(['system term-01', 'address 127.0.0.1'], 1)).toBe('address 127.0.0.1');
    for (let i = 0; i < 50; i++) t.refuses(KEYS, 50);
    expect(t.refuses(KEYS, 100)).toBeNull();
  });

  it('summarizes a burst once: at a successful login for the system, after a quiet spell for the address', () => {
    const t = new LoginThrottle(() => limits);
    for (let i = 0; i < 3; i++) t.failed(KEYS, 0);
    t.refuses(KEYS, 10);
    expect(t.succeeded('system rr-01').map((n) => n.detail)).toEqual([
      'system rr-01: burst of failed logins over (successful login): 4 attempts, 3 passwords checked and wrong, 1 refused unchecked',
    ]);
    expect(t.succeeded('system rr-01')).toEqual([]);
    expect(t.sweep(500)).toEqual([]);
    expect(t.sweep(1010).map((n) => n.detail)).toEqual([
      'address 127.0.0.1: burst of failed logins over (quiet for 1000 ms): 4 attempts, 3 passwords checked and wrong, 1 refused unchecked',
    ]);
    expect(t.sweep(5000)).toEqual([]);
    expect(t.failed(KEYS, 6000).audit).toBe(true); // forgotten: a new burst
  });

  it('applies a live change of the limits', () => {
    let l = limits;
    const t = new LoginThrottle(() => l);
    for (let i = 0; i < 3; i++) t.failed(KEYS, 0);
    expect(t.refuses(KEYS, 99)).toBe('system rr-01');
    l = { ...limits, allowed: 10 };
    t.failed(KEYS, 200);
    expect(t.refuses(KEYS, 201)).toBeNull();
  });
});
