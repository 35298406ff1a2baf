// Progress of a long command on stderr: a bar on a terminal; elsewhere (logs, CI, systemd) a plain
// line every 5 %, so a redirected output is readable.
export type ProgressPrinter = (p: { done: number; total: number; detail?: string }) => void;

export function progressPrinter(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressPrinter & { end(): void } {
  const tty = stream.isTTY === true;
  let lastStep = -1;
  let drawn = false;
  const print = (p: { done: number; total: number; detail?: string }) => {
    const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
    const detail = p.detail ? ` ${p.detail}` : '';
    if (tty) {
      const width = 30;
      const fill = Math.round((pct / 100) * width);
      stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${pct.toFixed(1).padStart(5)}%${detail}\x1b[K`);
      drawn = true;
    } else if (Math.floor(pct / 5) > lastStep) {
      lastStep = Math.floor(pct / 5);
      stream.write(`${label} ${pct.toFixed(0)}%${detail}\n`);
    }
  };
  return Object.assign(print, {
    end: () => {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  });
}
