// juki-gw pki: a small development CA for the broker's server certificate, client certificates of
// local systems and simulators, signing certificates from CSRs, and CRLs. Not a production CA.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseCommandArgs } from '../args.js';

export const summary = 'pki init|issue|sign|revoke|crl: development CA (broker server, clients, signing certificates)';

export const USAGE = `juki-gw pki <init|issue|sign|revoke|crl> --dir CA_DIR [options]
  init   [--cn NAME] [--days N]
  issue  --kind server|client|signing --cn NAME [--san host,ip,...] [--days N] --out PREFIX   (writes PREFIX.pem, PREFIX-key.pem)
  sign   --csr FILE [--kind signing|client|server] [--cn NAME] [--days N] --out FILE
  revoke --cert FILE --out CRL_FILE
  crl    --out CRL_FILE`;

const OPTIONS = {
  dir: { type: 'string' },
  cn: { type: 'string' },
  days: { type: 'string' },
  kind: { type: 'string' },
  san: { type: 'string' },
  out: { type: 'string' },
  csr: { type: 'string' },
  cert: { type: 'string' },
} as const;

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const [sub] = parsed.positionals;
  const v = parsed.values;
  const fail = (msg: string, code = 2) => {
    process.stderr.write(`pki ${sub ?? ''}: ${msg}\nusage: ${USAGE}\n`);
    return code;
  };
  if (!sub || !['init', 'issue', 'sign', 'revoke', 'crl'].includes(sub)) return fail('unknown subcommand');
  if (!v.dir) return fail('give --dir CA_DIR');
  const days = v.days === undefined ? undefined : Number(v.days);
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 36500)) return fail('--days: expected 1..36500');
  const kind = (v.kind ?? (sub === 'sign' ? 'signing' : undefined)) as 'server' | 'client' | 'signing' | undefined;
  if (kind !== undefined && !['server', 'client', 'signing'].includes(kind)) return fail('--kind: expected server, client or signing');
  const ca = await import('../../hsm/dev-ca.js');
  try {
    if (sub === 'init') {
      const created = await ca.createDevCa(v.dir, v.cn, days);
      process.stdout.write(`CA created in ${v.dir} (ca.pem, ca-key.pem 0600): ${created.cert.subject}\n`);
      return 0;
    }
    const authority = await ca.loadDevCa(v.dir);
    if (!v.out) return fail('give --out');
    if (sub === 'issue') {
      if (!kind || !v.cn) return fail('give --kind and --cn');
      const issued = await ca.issueWithNewKey(authority, {
        kind,
        commonName: v.cn,
        altNames: v.san
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        days,
      });
      writeFileSync(`${v.out}.pem`, issued.certPem);
      writeFileSync(`${v.out}-key.pem`, issued.keyPem, { mode: 0o600 });
      process.stdout.write(`issued ${kind} certificate CN=${v.cn}: ${v.out}.pem, ${v.out}-key.pem\n`);
      return 0;
    }
    if (sub === 'sign') {
      if (!v.csr) return fail('give --csr FILE');
      const der = await ca.signCsr(authority, readFileSync(v.csr, 'utf8'), { kind: kind ?? 'signing', commonName: v.cn, days });
      const { toPem } = await import('../../hsm/certs.js');
      writeFileSync(v.out, toPem(der));
      process.stdout.write(`certified the CSR's key as ${kind ?? 'signing'}: ${v.out} (chain: ${v.dir}/ca.pem)\n`);
      return 0;
    }
    if (sub === 'revoke') {
      if (!v.cert) return fail('give --cert FILE');
      writeFileSync(v.out, await ca.revoke(authority, readFileSync(v.cert, 'utf8')));
      process.stdout.write(`revoked; CRL written to ${v.out}\n`);
      return 0;
    }
    writeFileSync(v.out, await ca.crl(authority));
    process.stdout.write(`CRL written to ${v.out}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`pki ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
}
