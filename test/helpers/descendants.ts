// The processes a child started (e.g. `script` → sh → node), read from /proc: a test stops the one that
// does the work by its own id and waits for it, instead of trusting the wrapper to pass a signal on.
import { readdirSync, readFileSync } from 'node:fs';

function parentOf(pid: number): number | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Every living descendant of `root`, with its command line. */
export function descendants(root: number): { pid: number; cmdline: string }[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const found: { pid: number; cmdline: string }[] = [];
  const wanted = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const pid of all) {
      if (wanted.has(pid)) continue;
      const ppid = parentOf(pid);
      if (ppid !== undefined && wanted.has(ppid)) {
        wanted.add(pid);
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        } catch {
          /* gone */
        }
        found.push({ pid, cmdline });
        grew = true;
      }
    }
  }
  return found;
}

/** True while `pid` exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
