// The runnable examples of the documentation: every ```sh block of a page is preceded by a marker,
// either `<!-- example: {"exit":0,"reply":{...}} -->` (run by test/project/documented-examples.test.ts
// against the embedded default, its outcome checked) or `<!-- not-run: why -->`. A block without a
// marker is reported, so a new example cannot slip in untested.

export interface DocExample {
  /** page:line of the block, for failure messages. */
  where: string;
  script: string;
  expect: { exit: number; reply?: Record<string, unknown>; stdout?: string };
}

export interface ExtractResult {
  examples: DocExample[];
  unmarked: string[];
  badMarkers: string[];
}

const BLOCK = /(?:<!-- (example|not-run): ?([\s\S]*?) -->\n\n?)?```(?:sh|bash|shell)\n([\s\S]*?)\n```/g;

export function extractExamples(page: string, text: string): ExtractResult {
  const out: ExtractResult = { examples: [], unmarked: [], badMarkers: [] };
  for (const m of text.matchAll(BLOCK)) {
    const where = `${page}:${text.slice(0, m.index).split('\n').length}`;
    const [, kind, marker, script] = m;
    if (!kind) {
      out.unmarked.push(where);
      continue;
    }
    if (kind === 'not-run') continue;
    try {
      const expect = JSON.parse(marker!) as DocExample['expect'];
      if (typeof expect.exit !== 'number') throw new Error('"exit" (a number) is required');
      out.examples.push({ where, script: script!, expect });
    } catch (e) {
      out.badMarkers.push(`${where}: ${(e as Error).message}`);
    }
  }
  return out;
}
