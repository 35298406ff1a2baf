// Line diff for configuration history (LCS). Config files are a few hundred lines, so the quadratic
// table is cheap; above the cap the diff degrades to "all removed, all added" rather than stalling.
import type { DiffLine } from './versionTypes.js';

const MAX_CELLS = 4_000_000;

export function lineDiff(oldText: string, newText: string): DiffLine[] {
  const a = oldText.split('\n');
  const b = newText.split('\n');
  if (a.length * b.length > MAX_CELLS) {
    return [
      ...a.map((t, i) => ({ op: '-' as const, text: t, oldNo: i + 1 })),
      ...b.map((t, j) => ({ op: '+' as const, text: t, newNo: j + 1 })),
    ];
  }
  const n = a.length,
    m = b.length;
  // lcs[i][j] = LCS length of a[i..] and b[j..], flattened.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] =
        a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0,
    j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i]!, oldNo: i + 1, newNo: j + 1 });
      i++;
      j++;
    } else if (lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!) {
      out.push({ op: '-', text: a[i]!, oldNo: i + 1 });
      i++;
    } else {
      out.push({ op: '+', text: b[j]!, newNo: j + 1 });
      j++;
    }
  }
  for (; i < n; i++) out.push({ op: '-', text: a[i]!, oldNo: i + 1 });
  for (; j < m; j++) out.push({ op: '+', text: b[j]!, newNo: j + 1 });
  return out;
}
