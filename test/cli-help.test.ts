// Every command answers --help with its usage and exit 0; `juki-gw` alone lists the commands.
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES } from '../cli/main.js';
import { jukiGw } from './helpers/cli.js';

describe('juki-gw --help', () => {
  it('juki-gw alone lists every command with its summary', async () => {
    const r = await jukiGw([]);
    for (const n of COMMAND_NAMES) expect(r.stdout).toMatch(new RegExp(`^  ${n.replace('.', '\\.')}\\s+\\S`, 'm'));
    expect(r.stdout).toContain('juki-gw <command> --help');
  });

  it.each(COMMAND_NAMES.map((n) => [n]))('juki-gw %s --help prints its usage and exits 0', async (name) => {
    for (const flag of ['--help', '-h']) {
      const r = await jukiGw([name, flag]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^usage: juki-gw ${name}\\b`, 'm'));
    }
  }, 60_000);

  it('help after other options still answers usage, not an option error', async () => {
    const r = await jukiGw(['pki', 'issue', '--kind', 'client', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: juki-gw pki/m);
  });
});
