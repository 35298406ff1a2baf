// Times a person reads in the CLI look as in the admin UI and the replies: the configured zone
// (ui.timeZone, default Asia/Tokyo), e.g. `2029-03-10 10:12:29 JST (+09:00)`. --json keeps ISO UTC.
import { createTimeFormatter, DEFAULT_TIME_ZONE } from '../admin-ui/time.js';
import type { ApplianceConfig } from '../config/schema/index.js';
import { commandConfig } from './commandConfig.js';

export type ShowTime = (at: string | number | Date | null | undefined) => string;

export const showTime = (config: ApplianceConfig | undefined): ShowTime =>
  createTimeFormatter(config?.ui.timeZone ?? DEFAULT_TIME_ZONE).time;

/** For a command that needs no configuration otherwise: --config FILE's zone (its problems refused), else start's. */
export function showTimeOf(file: string | undefined): ShowTime | { error: string } {
  const c = commandConfig(file);
  if (!c.ok && file !== undefined) return { error: c.message };
  return showTime(c.ok ? c.config : undefined);
}
