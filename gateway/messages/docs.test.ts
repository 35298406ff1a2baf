import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderMessageDocs } from '../../scripts/gen-message-docs.js';
import { MESSAGE_TYPE_NAMES } from './registry.js';

describe('docs/messages.md', () => {
  it('is generated from the current schemas (run: npx tsx scripts/gen-message-docs.ts)', () => {
    const committed = readFileSync(new URL('../../docs/messages.md', import.meta.url), 'utf8');
    expect(renderMessageDocs()).toBe(committed);
  });
  it('documents every message type with its fields', () => {
    const doc = renderMessageDocs();
    for (const t of MESSAGE_TYPE_NAMES) expect(doc).toContain(`\n## ${t}\n`);
    expect(doc).toContain('| `dutyCode` | string | yes |');
    expect(doc).toContain('YYYY-00-00');
  });
});
