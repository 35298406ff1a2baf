// Every command answers --help with its usage and exit 0; `juki-gw` alone lists the commands.
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES } from '../../cli/main.js';
import { jukiGw } from '../helpers/cli.js';

describe('juki-gw --help', () => {
  it('juki-gw alone lists every command with its summary', async () => {
    const r = await jukiGw([]);
    for (const n of COMMAND_NAMES) expect(r.stdout).toMatch(new RegExp(`^  ${n.replace('.', '\\.')}\\s+\\S`, 'm'));
    expect(r.stdout).toContain('juki-gw <command> --help');
    // Listing the commands is an answer, not a usage error; every summary starts in the same column.
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const rows = r.stdout.split('\n').filter((l) => /^ {2}[a-z]/.test(l));
    expect(rows).toHaveLength(COMMAND_NAMES.length);
    const columns = new Set<number>();
    for (const l of rows) {
      const [, name, gap, text] = /^ {2}(\S+)(\s+)(\S.*)$/.exec(l)!;
      columns.add(name!.length + gap!.length);
      expect(text!.startsWith(`${name} `), `${l}: the summary repeats the command name`).toBe(false);
    }
    expect([...columns], rows.join('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^ {2}start\s+.*--summary/m);
  });

  it('an unknown command is a usage error, exit 2', async () => {
    const r = await jukiGw(['no-such-command']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "no-such-command"');
  });

  it.each([['backup'], ['audit'], ['queue'], ['import']])(
    'juki-gw %s --help: the online part reads as one block, not two stacked lead-ins',
    async (name) => {
      const r = await jukiGw([name, '--help']);
      const lines = r.stdout.trimEnd().split('\n');
      // No line ending in ":" directly followed by another line ending in ":" (two headings, no body).
      for (let i = 0; i + 1 < lines.length; i++)
        expect(lines[i]!.endsWith(':') && lines[i + 1]!.endsWith(':'), `${lines[i]}\n${lines[i + 1]}`).toBe(false);
    },
  );

  it.each(COMMAND_NAMES.map((n) => [n]))(
    'juki-gw %s --help prints its usage and exits 0',
    async (name) => {
      for (const flag of ['--help', '-h']) {
        const r = await jukiGw([name, flag]);
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
        expect(r.stdout).toMatch(new RegExp(`^usage: juki-gw ${name}\\b`, 'm'));
      }
    },
    60_000,
  );

  it('help after other options still answers usage, not an option error', async () => {
    const r = await jukiGw(['pki', 'issue', '--kind', 'client', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: juki-gw pki/m);
  });
});
