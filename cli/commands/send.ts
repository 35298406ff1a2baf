// juki-gw send: one request as a configured local system, waits for its reply and prints it — the
// integrator's first test, which cannot get the session rules wrong.
import { readFileSync } from 'node:fs';
import { formatProblems, loadConfig } from '../../config/load.js';
import { envelopeSchema, nowIso, uuidv7 } from '../../platform/envelope.js';
import { parseCommandArgs } from '../args.js';
import { exchange } from '../send/exchange.js';
import { resolveTarget } from '../send/target.js';

export const summary = 'send --as SYSTEM TYPE BODY.json|-: publish one request as a local system, print its reply';

export const USAGE = `juki-gw send --as SYSTEM TYPE BODY.json|- [--config FILE] [--listener NAME | --url URL]
                   [--password-file FILE | --cert FILE --key FILE --ca FILE] [--id ID] [--timeout SECONDS]
  Connects as SYSTEM (client ID = system ID, clean: false), publishes req/TYPE at QoS 1 with v, id
  (UUID v7), type and at filled in, waits on res/SYSTEM for the reply whose corr is the id, prints it.
  A client already connected as SYSTEM is disconnected while send runs (the broker hands the session
  over); replies and pushes queued for SYSTEM are left unacknowledged and stay queued for it.
  Credentials: the system's password from the configuration (the embedded default's
  data/dev-passwords/SYSTEM) or --password-file; --cert/--key/--ca on a TLS listener.
  exit 0: result reply; 1: error reply; 2: usage or bad input; 3: could not connect, or the connection
  closed before the reply; 4: no reply within --timeout (default 60 s)`;

const OPTIONS = {
  as: { type: 'string' },
  config: { type: 'string', short: 'c' },
  listener: { type: 'string' },
  url: { type: 'string' },
  'password-file': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
  id: { type: 'string' },
  timeout: { type: 'string' },
} as const;

const fail = (message: string, code: number): number => {
  process.stderr.write(`send: ${message}\n`);
  return code;
};

function readBody(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file === '-' ? 'standard input' : file}: not JSON: ${(e as Error).message}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Error(
      `${file === '-' ? 'standard input' : file}: expected a JSON object (the message body), got ${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}`,
    );
  }
  return body as Record<string, unknown>;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, OPTIONS, USAGE);
  if (!parsed) return 2;
  const v = parsed.values;
  const [type, file, ...extra] = parsed.positionals;
  if (!v.as || !type || !file || extra.length)
    return fail(`give --as SYSTEM, TYPE and BODY.json (or - for standard input)\nusage: ${USAGE}`, 2);
  if (!envelopeSchema.shape.type.safeParse(type).success)
    return fail(`TYPE: "${type}" is not a message type (dotted lower case, e.g. identity.search)`, 2);
  const id = v.id ?? uuidv7();
  if (!envelopeSchema.shape.id.safeParse(id).success) return fail(`--id: "${id}" is not a valid id (1..64 of A-Z a-z 0-9 . _ : -)`, 2);
  const timeout = v.timeout === undefined ? 60 : Number(v.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 3600) return fail('--timeout: expected seconds, 0 < s ≤ 3600', 2);
  if (v.url !== undefined && !/^(mqtts?|tcp|ssl):\/\/\S+$/.test(v.url))
    return fail(`--url: expected mqtt://HOST:PORT or mqtts://HOST:PORT, got "${v.url}"`, 2);
  const loaded = loadConfig(v.config);
  if (!loaded.ok) return fail(`configuration ${v.config ?? '(embedded default)'}:\n${formatProblems(loaded.problems)}`, 2);
  let body: Record<string, unknown>;
  let target;
  try {
    body = readBody(file);
    target = resolveTarget(loaded.config, {
      as: v.as,
      ...(v.listener !== undefined ? { listener: v.listener } : {}),
      ...(v.url !== undefined ? { url: v.url } : {}),
      ...(v['password-file'] !== undefined ? { passwordFile: v['password-file'] } : {}),
      ...(v.cert !== undefined ? { cert: v.cert } : {}),
      ...(v.key !== undefined ? { key: v.key } : {}),
      ...(v.ca !== undefined ? { ca: v.ca } : {}),
    });
  } catch (e) {
    return fail((e as Error).message, 2);
  }
  const request = { v: 1, id, type, at: nowIso(), body };
  // send cannot know whether that system is connected now: say what would happen, not that it did.
  process.stderr.write(
    `send: ${type} as ${target.systemId} on ${target.url} (id ${id})\n` +
      `note: if a client is connected as ${target.systemId}, it is disconnected while send runs (it reconnects with clean: false and loses nothing)\n`,
  );
  const o = await exchange(target, { id, type }, JSON.stringify(request), timeout * 1000);
  if (o.kind === 'refused') return fail(o.message, 3);
  if (o.kind === 'closed')
    return fail(
      `${o.message}${o.acknowledged ? `; the request was acknowledged (stored), its reply stays queued for ${target.systemId}` : `; the request was not acknowledged: send it again with --id ${id} (the appliance answers an id once)`}`,
      3,
    );
  const left = (n: number) => (n ? `; ${n} other message(s) queued for ${target.systemId} left for it unacknowledged` : '');
  if (o.kind === 'timeout') {
    return fail(
      `no reply with corr ${id} within ${timeout} s; ${
        o.acknowledged
          ? `the request was acknowledged (stored) and will be answered on res/${target.systemId}: send it again with --id ${id} to get that answer`
          : 'the request was not acknowledged'
      }${left(o.othersLeft)}`,
      4,
    );
  }
  process.stdout.write(JSON.stringify(o.reply, null, 2) + '\n');
  if (o.othersLeft) process.stderr.write(`send${left(o.othersLeft)}\n`);
  if (o.reply.type === 'error') {
    const b = o.reply.body as { code?: string; message?: string; details?: Array<{ path: string; problem: string }> } | undefined;
    const details = (b?.details ?? []).map((d) => `\n  ${d.path}: ${d.problem}`).join('');
    return fail(`error reply ${b?.code ?? '?'}: ${b?.message ?? ''}${details}`, 1);
  }
  return 0;
}
