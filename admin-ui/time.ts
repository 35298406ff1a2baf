// The one way the admin UI shows a point in time: in the configured zone (ui.timeZone, default
// Asia/Tokyo), with its abbreviation and offset, e.g. `2026-12-06 09:15:02 JST (+09:00)`.
export const DEFAULT_TIME_ZONE = 'Asia/Tokyo';

/** Short names operators know; any other zone shows its IANA name before the offset. */
const ABBREVIATIONS: Record<string, string> = { 'Asia/Tokyo': 'JST', UTC: 'UTC', 'Etc/UTC': 'UTC' };

function parts(ms: number, zone: string): Record<string, string> {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  });
  return Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
}

/** `+09:00` from Intl's `GMT+09:00` (`GMT` alone is UTC). */
const offsetOf = (name: string | undefined) => (name && name !== 'GMT' ? name.replace('GMT', '') : '+00:00');

export function createTimeFormatter(zone: string) {
  const label = ABBREVIATIONS[zone] ?? zone;
  const toMs = (at: string | number | Date): number | undefined => {
    const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
    return Number.isFinite(ms) ? ms : undefined;
  };
  return {
    zone,
    /** A full timestamp; what cannot be read as a time is shown as it is (never a guess). */
    time(at: string | number | Date | null | undefined): string {
      if (at === null || at === undefined || at === '') return '—';
      const ms = toMs(at);
      if (ms === undefined) return String(at);
      const p = parts(ms, zone);
      return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${label} (${offsetOf(p.timeZoneName)})`;
    },
    /** `09:15` in the zone: chart axes. */
    clock(ms: number): string {
      const p = parts(ms, zone);
      return `${p.hour}:${p.minute}`;
    },
    /** The zone as shown next to a chart: `JST (+09:00)`. */
    zoneLabel(ms: number): string {
      return `${label} (${offsetOf(parts(ms, zone).timeZoneName)})`;
    },
  };
}
export type TimeFormatter = ReturnType<typeof createTimeFormatter>;
