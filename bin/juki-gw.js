#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx's loader (no separate build step to drift).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
