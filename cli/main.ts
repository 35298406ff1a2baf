// juki-gw: one CLI. Each subcommand is its own module under cli/commands/, loaded on demand so a
// `config check` never pulls in the broker or the PKCS#11 module.
type Command = { run(args: string[]): Promise<number>; summary: string; USAGE: string };

export const COMMAND_NAMES = [
  'start',
  'broker',
  'config',
  'keys',
  'pki',
  'verify',
  'queue',
  'import',
  'audit',
  'sim',
  'backup',
  'provision',
  'send',
  'cluster',
] as const;
const COMMANDS: Record<string, () => Promise<Command>> = Object.fromEntries(
  COMMAND_NAMES.map((n) => [n, () => import(`./commands/${n}.js`) as Promise<Command>]),
);

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`config check --print | head`) closes the pipe: that is the end of the
  // output the user wanted, not a crash with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = ['usage: juki-gw <command> [options]   (juki-gw <command> --help: its usage)', '', 'commands:'];
    const width = Math.max(...COMMAND_NAMES.map((n) => n.length));
    for (const [n, load] of Object.entries(COMMANDS)) {
      // A summary starts with its command's syntax ("queue list|show…"): the name is in the first column.
      let text: string;
      try {
        text = (await load()).summary;
      } catch {
        continue; /* not built yet */
      }
      lines.push(`  ${n.padEnd(width)}  ${text.startsWith(`${n} `) ? text.slice(n.length + 1) : text}`);
    }
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`juki-gw: unknown command "${name}" (try juki-gw --help)\n`);
    return 2;
  }
  let cmd: Command;
  try {
    cmd = await load();
  } catch (e) {
    process.stderr.write(`juki-gw: command "${name}" is not available in this build: ${(e as Error).message}\n`);
    return 2;
  }
  // --help anywhere before a `--` answers the usage, whatever else is on the line.
  const end = rest.indexOf('--');
  const own = end < 0 ? rest : rest.slice(0, end);
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(`usage: ${cmd.USAGE}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    // A refusal that can arise deep in a command's writes (cli/offlineStore.ts) is its answer, not a crash.
    if (e instanceof Error && e.name === 'ClusterStoreWriteRefused') {
      process.stderr.write(`juki-gw ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
