/** Small date helpers shared by the generator, the store and the server. */

export const SECOND_MS = 1000;
export const DAY_MS = 86_400_000;

/** Harvest's datetime format: UTC, second precision, e.g. "2024-03-05T12:53:38Z". */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / SECOND_MS) * SECOND_MS).toISOString().slice(0, 19) + 'Z';
}

/** Harvest's date format, e.g. "2024-03-05". */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Midnight UTC of the day containing `ms`. */
export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Parses a strict "YYYY-MM-DD" (or "YYYYMMDD") calendar date to UTC midnight ms; NaN if invalid. */
export function parseDate(text: string): number {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text);
  if (!m) return NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC silently rolls "02-30" over to March; a round trip rejects it.
  return isoDate(ms) === `${m[1]}-${m[2]}-${m[3]}` ? ms : NaN;
}

/**
 * Parses an ISO-8601 timestamp (date, or date + time with optional fraction and zone;
 * no zone means UTC) to ms; NaN if it is not one.
 */
export function parseIsoTimestamp(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i.exec(
    text,
  );
  if (!m) return NaN;
  const day = parseDate(m[1]!);
  if (Number.isNaN(day) || m[2] === undefined) return day;
  const [hh, mm, ss] = [Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
  if (hh > 23 || mm > 59 || ss > 59) return NaN;
  const fractionMs = m[5] ? Math.floor(Number(m[5]) * SECOND_MS) : 0;
  return day + ((hh * 60 + mm) * 60 + ss) * SECOND_MS + fractionMs - zoneOffsetMs(m[6]);
}

function zoneOffsetMs(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0);
  return (zone.startsWith('-') ? -1 : 1) * minutes * 60 * SECOND_MS;
}

/** Formats minutes after midnight as Harvest's 12-hour clock string, e.g. "9:15am". */
export function clockTime(minutesOfDay: number): string {
  const minutes = ((minutesOfDay % 1440) + 1440) % 1440;
  const h24 = Math.floor(minutes / 60);
  const mm = String(minutes % 60).padStart(2, '0');
  const h12 = h24 % 12 === 0 ? 12 : h24 % 12;
  return `${h12}:${mm}${h24 < 12 ? 'am' : 'pm'}`;
}
