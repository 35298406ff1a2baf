#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx's loader (no separate build step to drift).
import { register } from 'tsx/esm/api';

// Everything the appliance writes (LevelDB, token, keys, passwords, backups, exports) is for its own user
// only, whatever umask the shell or service manager left: LevelDB and most libraries create files 0644.
process.umask(0o077);

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
