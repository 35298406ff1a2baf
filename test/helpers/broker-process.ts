// The appliance's broker in a child process (test/fixtures/broker-process.ts): for kill -9, and for
// floods whose sockets must not share the test process's file descriptors. Stop it with stop().
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BrokerAuditEvent } from '../../broker/server.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/broker-process.ts', import.meta.url));

export type Denial = Extract<BrokerAuditEvent, { kind: 'denial' }>;
export interface BrokerProcess {
  child: ChildProcess;
  /** Every audit event so far, in order. */
  audits: BrokerAuditEvent[];
  denials: Denial[];
  exited: Promise<unknown>;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
}

/** Starts the broker on a configuration file (JSON); resolves once its listeners are open. */
export async function startBrokerProcess(configFile: string): Promise<BrokerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  const audits: BrokerAuditEvent[] = [];
  const denials: Denial[] = [];
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line === 'READY') resolve();
        else if (line.startsWith('AUDIT ')) {
          const e = JSON.parse(line.slice(6)) as BrokerAuditEvent;
          audits.push(e);
          if (e.kind === 'denial') denials.push(e);
        }
      }
    });
    child.once('exit', (code, sig) => reject(new Error(`broker exited (${code ?? sig}) before READY: ${err}`)));
  });
  return {
    child,
    audits,
    denials,
    exited,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
