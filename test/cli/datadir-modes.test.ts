// The data dir holds residents' data, keys and passwords: a real `juki-gw start` (embedded default,
// SoftHSM token, simulated upstreams, admin UI) leaves nothing under it readable by other users, honours
// JUKIGW_dataDir for everything it writes, and warns (naming path and mode) about an operator-made
// data dir that is looser than 0700. Backups written into it and restored from it are owner-only too.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jukiGw } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const bin = new URL('../../bin/juki-gw.js', import.meta.url).pathname;
const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/** Every path under `root` (itself included) with its permission bits, e.g. `db/CURRENT 0600`. */
function modesUnder(root: string): Map<string, string> {
  const out = new Map<string, string>([['.', octal(lstatSync(root).mode)]]);
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const st = lstatSync(full);
      const r = rel ? `${rel}/${name}` : name;
      if (st.isSymbolicLink()) continue;
      out.set(r, octal(st.mode));
      if (st.isDirectory()) walk(full, r);
    }
  };
  walk(root, '');
  return out;
}

/** Entries that group or others may read, write or enter. */
const loose = (modes: Map<string, string>) => [...modes].filter(([, m]) => (parseInt(m, 8) & 0o077) !== 0).map(([rel, m]) => `${rel} ${m}`);

interface Started {
  child: ChildProcess;
  out: () => string;
}
const children: ChildProcess[] = [];
const dirs: Array<{ cleanup(): void }> = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
  for (const d of dirs.splice(0)) d.cleanup();
});

/** `juki-gw start` with the embedded default, every port ephemeral, the data dir from JUKIGW_dataDir. */
async function start(cwd: string, dataDir: string): Promise<Started> {
  const env = {
    ...process.env,
    JUKIGW_dataDir: dataDir,
    JUKIGW_listeners__0__port: String(await freePort()),
    JUKIGW_listeners__1__port: String(await freePort()),
    JUKIGW_admin__port: String(await freePort()),
    JUKIGW_ui__port: String(await freePort()),
    JUKIGW_limits__minFreeDiskBytes: '0',
  };
  // A umask as loose as a developer shell's: the appliance must not depend on it.
  const child = spawn('/bin/sh', ['-c', 'umask 022; exec "$0" "$@"', process.execPath, bin, 'start'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await until(() => out.includes('"msg":"appliance ready"') || child.exitCode !== null, 120_000, 'appliance ready');
  if (child.exitCode !== null) throw new Error(`appliance exited ${child.exitCode}:\n${out}`);
  return { child, out: () => out };
}

async function stop(s: Started): Promise<number | null> {
  s.child.kill('SIGTERM');
  if (s.child.exitCode === null) await new Promise((r) => s.child.once('exit', r));
  return s.child.exitCode;
}

describe('data dir permissions on a real start', () => {
  it('creates the data dir 0700 and every file under it 0600, at JUKIGW_dataDir, whatever the umask', async () => {
    const tmp = tempDir('jukigw-modes-');
    dirs.push(tmp);
    const dataDir = join(tmp.path, 'var', 'juki-gw');
    const app = await start(tmp.path, dataDir);
    const modes = modesUnder(dataDir);
    expect(await stop(app)).toBe(0);

    // Everything the start wrote is in the named data dir: LevelDB, token, keys, dev CA, passwords.
    expect(existsSync(join(tmp.path, 'data'))).toBe(false);
    expect(modes.get('.')).toBe('0700');
    for (const id of ['rr-01', 'term-01', 'nl-01', 'mon-01']) expect(modes.get(`dev-passwords/${id}`)).toBe('0600');
    expect(modes.get('db/CURRENT')).toBe('0600');
    expect([...modes.keys()].filter((k) => k.startsWith('db/') && k.endsWith('.log')).length).toBeGreaterThan(0);
    expect(modes.size).toBeGreaterThan(20);
    expect(loose(modes)).toEqual([]);

    // A backup written into the data dir, and a restore of it, stay owner-only.
    const backup = join(dataDir, 'backup.jgb');
    const made = await jukiGw(['backup', 'create', '--data-dir', dataDir, '--out', backup], {
      env: { ...process.env, JUKIGW_dataDir: dataDir, JUKIGW_BACKUP_PASSPHRASE: 'datadir-modes passphrase' },
    });
    expect(made.code, made.stderr).toBe(0);
    expect(octal(lstatSync(backup).mode)).toBe('0600');
    const restored = join(tmp.path, 'restored');
    const back = await jukiGw(['backup', 'restore', '--in', backup, '--data-dir', restored], {
      env: { ...process.env, JUKIGW_BACKUP_PASSPHRASE: 'datadir-modes passphrase' },
    });
    expect(back.code, back.stderr).toBe(0);
    const restoredModes = modesUnder(restored);
    expect(restoredModes.get('dev-passwords/term-01')).toBe('0600');
    expect(loose(restoredModes)).toEqual([]);
  }, 240_000);

  it('warns, naming the path and its mode, when an operator-made data dir is looser than 0700, and still starts', async () => {
    const tmp = tempDir('jukigw-modes-');
    dirs.push(tmp);
    const dataDir = join(tmp.path, 'data-0755');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const app = await start(tmp.path, dataDir);
    const warning = app
      .out()
      .split('\n')
      .filter((l) => l.includes('"path":"' + dataDir + '"'))
      .map((l) => JSON.parse(l) as { level: number; mode: string });
    expect(await stop(app)).toBe(0);
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatchObject({ level: 40, mode: '0755' });
    // The operator's choice is left as it is; what the appliance writes inside is owner-only.
    const modes = modesUnder(dataDir);
    expect(modes.get('.')).toBe('0755');
    expect(loose(modes)).toEqual(['. 0755']);
  }, 240_000);
});
