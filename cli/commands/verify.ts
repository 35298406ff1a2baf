// juki-gw verify: the verifier kit for upstream teams — checks one signed message file.
import { readFileSync } from 'node:fs';
import { parseCommandArgs } from '../args.js';

export const summary = 'verify --trust ca.pem [--peer cert.pem] message.json: verify a signed (JWS) message';

export const USAGE = `juki-gw verify --trust CA.pem [--trust ...] [--peer SIGNER.pem ...] [--crl CRL.pem ...] [--window SECONDS | --at-message-time] MESSAGE.json|-
  exit 0: valid (prints the envelope); 1: refused (prints the code); 2: usage`;

const OPTIONS = {
  trust: { type: 'string', multiple: true },
  peer: { type: 'string', multiple: true },
  crl: { type: 'string', multiple: true },
  window: { type: 'string' },
  'at-message-time': { type: 'boolean' },
  'no-x5c': { type: 'boolean' },
} as const;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const v = parsed.values;
  const [file] = parsed.positionals;
  if (!file || !v.trust?.length) {
    process.stderr.write(`usage: ${USAGE}\n`);
    return 2;
  }
  const window = v.window === undefined ? 300 : Number(v.window);
  if (!Number.isInteger(window) || window < 1) {
    process.stderr.write('--window: expected whole seconds\n');
    return 2;
  }
  const read = (f: string) => readFileSync(f === '-' ? 0 : f, 'utf8');
  let text: string, anchors: string[], peers: string[], crls: string[];
  try {
    text = read(file);
    anchors = v.trust.map(read);
    peers = (v.peer ?? []).map(read);
    crls = (v.crl ?? []).map(read);
  } catch (e) {
    process.stderr.write(`verify: ${(e as Error).message}\n`);
    return 2;
  }
  const { verifyMessage } = await import('../../hsm/verifier.js');
  let now: number | undefined;
  if (v['at-message-time']) {
    // Archive check: certificates and the time window are judged at the message's own `at`.
    try {
      const payload = JSON.parse(Buffer.from((JSON.parse(text) as { payload: string }).payload, 'base64url').toString('utf8')) as {
        at?: string;
      };
      now = payload.at ? Date.parse(payload.at) : undefined;
    } catch {
      /* the verifier reports the malformed message */
    }
  }
  try {
    const r = await verifyMessage(text, {
      trustAnchorsPem: anchors,
      peerCertificatesPem: peers,
      crlPem: crls.length ? crls : undefined,
      replayWindowSeconds: window,
      acceptX5c: !v['no-x5c'],
      now,
    });
    if (r.ok) {
      process.stdout.write(JSON.stringify({ ok: true, kid: r.kid, signer: r.signerSubject, envelope: r.envelope }, null, 2) + '\n');
      return 0;
    }
    process.stdout.write(JSON.stringify({ ok: false, code: r.code, message: r.message }) + '\n');
    return 1;
  } catch (e) {
    process.stderr.write(`verify: ${(e as Error).message}\n`);
    return 2;
  }
}
