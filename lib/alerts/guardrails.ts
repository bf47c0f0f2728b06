import type { WorkingHours } from "../config";

/**
 * Working hours in a time zone: whether `at` is inside the window, and when it next opens.
 * Local time comes from Intl (the IANA database), so daylight-saving changes are respected.
 */
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(at: Date, timeZone: string): { day: number; minute: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return {
    day: WEEKDAYS[parts.weekday ?? "Sun"] ?? 0,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

export function insideWorkingHours(hours: WorkingHours, at: Date): boolean {
  const { day, minute } = localParts(at, hours.timeZone);
  return hours.days.includes(day) && minute >= hours.startMinute && minute < hours.endMinute;
}

/** The first minute at or after `at` inside the window (within 8 days; the window is never empty). */
export function nextWindowStart(hours: WorkingHours, at: Date): Date {
  const t = new Date(at);
  t.setUTCSeconds(0, 0);
  if (t < at) t.setUTCMinutes(t.getUTCMinutes() + 1);
  for (let i = 0; i < 8 * 24 * 60; i++) {
    if (insideWorkingHours(hours, t)) return t;
    // Step an hour while far outside the window, minute by minute near it.
    const { minute } = localParts(t, hours.timeZone);
    const step = Math.abs(minute - hours.startMinute) > 61 ? 60 - (minute % 60) || 60 : 1;
    t.setUTCMinutes(t.getUTCMinutes() + step);
  }
  return t;
}

export function describeWorkingHours(hours: WorkingHours): string {
  const hhmm = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  const names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
  return `${hhmm(hours.startMinute)}-${hhmm(hours.endMinute)} ${hours.days.map((d) => names[d]).join(",")} ${hours.timeZone}`;
}
