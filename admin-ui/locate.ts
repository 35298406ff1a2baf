// Where a configuration problem sits in the YAML the administrator edited: `listeners[1].port` →
// line number, so the editor can mark the exact field.
import { isNode, LineCounter, parseDocument } from 'yaml';

export function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** 1-based line of the deepest existing node on the path (the field, or its parent when missing). */
export function lineOf(text: string, path: string): number | undefined {
  if (path.startsWith('(')) return undefined;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const segs = pathSegments(path);
  for (let n = segs.length; n > 0; n--) {
    const node = doc.getIn(segs.slice(0, n), true);
    if (isNode(node) && node.range) {
      // Point at the key of a mapping entry when possible: that is where the administrator looks.
      return lc.linePos(node.range[0]).line;
    }
  }
  return undefined;
}
