// The configuration a one-shot command acts on: --config FILE, else the one `juki-gw start` would use
// (the embedded default with the same JUKIGW_ overrides, so ./data or JUKIGW_dataDir). An
// administrator who started the appliance with `npm start` in a clone need not repeat where its data is.
import { resolve } from 'node:path';
import { formatProblems, loadConfig } from '../config/load.js';
import type { ApplianceConfig } from '../config/schema/index.js';

export type CommandConfig = { ok: true; config: ApplianceConfig; source: string } | { ok: false; message: string };

export function commandConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): CommandConfig {
  const r = loadConfig(file, env);
  if (!r.ok)
    return {
      ok: false,
      message: `configuration ${file ?? '(embedded default, as juki-gw start uses it)'}:\n${formatProblems(r.problems)}`,
    };
  const source =
    file !== undefined
      ? `--config ${file}`
      : env.JUKIGW_dataDir !== undefined
        ? 'JUKIGW_dataDir'
        : 'the embedded default, as juki-gw start uses it';
  return { ok: true, config: r.config, source };
}

/** The line a command prints (stderr) so nobody wonders which data it read. */
export function dataDirLine(command: string, dataDir: string, source: string): string {
  return `${command}: data dir ${resolve(dataDir)} (${source})\n`;
}
