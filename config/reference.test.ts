import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../scripts/gen-config-docs.js';

describe('configuration reference in README.md', () => {
  it('is generated from the current schema (run: npx tsx scripts/gen-config-docs.ts)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(renderReadme(readme)).toBe(readme);
  });
});
