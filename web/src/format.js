// Numbers, amounts and times as people read them: H/s with SI prefixes,
// BTC and sats (1 token unit = 1 sat), times in the viewer's time zone.

const PREFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z'];

/** A hash rate in H/s, e.g. 1234567 -> "1.23 MH/s". */
export function formatHashrate(hps) {
  if (hps === null || hps === undefined) return '—';
  const value = Number(hps);
  if (!Number.isFinite(value) || value < 0) return '—';
  if (value === 0) return '0 H/s';
  let exp = Math.max(0, Math.min(PREFIXES.length - 1, Math.floor(Math.log10(value) / 3)));
  let scaled = value / 10 ** (3 * exp);
  // 999.5 k rounds to "1000 k": move to the next prefix instead.
  if (Number(scaled.toPrecision(3)) >= 1000 && exp < PREFIXES.length - 1) {
    exp += 1;
    scaled = value / 10 ** (3 * exp);
  }
  return `${trimNumber(scaled)} ${PREFIXES[exp]}H/s`;
}

/** Three significant digits without a trailing ".0" (fixed-point, no exponent). */
function trimNumber(x) {
  if (x >= 100) return String(Math.round(x));
  return String(Number(x.toPrecision(3)));
}

/** A non-negative integer (number, bigint or decimal string) with digit grouping. */
export function formatInteger(value) {
  if (value === null || value === undefined || value === '') return '—';
  let n;
  try {
    n = BigInt(value);
  } catch {
    return String(value);
  }
  const negative = n < 0n;
  const digits = (negative ? -n : n).toString();
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return negative ? `-${grouped}` : grouped;
}

/** Sats as "0.01234567 BTC". */
export function formatBtc(sats) {
  if (sats === null || sats === undefined) return '—';
  const n = BigInt(sats);
  const negative = n < 0n;
  const abs = negative ? -n : n;
  const whole = abs / 100000000n;
  const frac = (abs % 100000000n).toString().padStart(8, '0');
  return `${negative ? '-' : ''}${formatInteger(whole)}.${frac} BTC`;
}

/** Sats as "1,234,567 sats". */
export function formatSats(sats) {
  if (sats === null || sats === undefined) return '—';
  const n = BigInt(sats);
  return `${formatInteger(n)} ${n === 1n || n === -1n ? 'sat' : 'sats'}`;
}

/** Both units: "0.01234567 BTC (1,234,567 sats)". */
export function formatAmount(sats) {
  if (sats === null || sats === undefined) return '—';
  return `${formatBtc(sats)} (${formatSats(sats)})`;
}

/** A fraction in 0..1 as a percentage, e.g. 0.123456 -> "12.35 %". */
export function formatPercent(fraction, digits = 2) {
  const x = Number(fraction);
  if (!Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)} %`;
}

/** Basis points as a percentage: 150 -> "1.50 %". */
export function formatBps(bps) {
  if (bps === null || bps === undefined) return '—';
  return `${(Number(bps) / 100).toFixed(2)} %`;
}

const dateTime = () =>
  new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** Unix seconds as a date and time in the viewer's time zone. */
export function formatTime(unixSecs, format = dateTime()) {
  if (unixSecs === null || unixSecs === undefined) return '—';
  return format.format(new Date(Number(unixSecs) * 1000));
}

/** How long ago, e.g. "42 s ago", "3 min ago", "5 h ago", "2 d ago". */
export function formatAgo(unixSecs, nowSecs = Date.now() / 1000) {
  if (unixSecs === null || unixSecs === undefined) return '—';
  const d = Math.max(0, Math.round(nowSecs - Number(unixSecs)));
  if (d < 60) return `${d} s ago`;
  if (d < 3600) return `${Math.floor(d / 60)} min ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
  return `${Math.floor(d / 86400)} d ago`;
}

/** The viewer's time zone name, e.g. "Europe/Berlin". */
export function timeZoneName() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
}

/** 0x1234…cdef: the start and end of a long hex string. */
export function shortHex(hex, keep = 6) {
  if (!hex) return '—';
  const s = String(hex);
  if (s.length <= 2 * keep + 4) return s;
  const start = s.startsWith('0x') ? 2 + keep : keep;
  return `${s.slice(0, start)}…${s.slice(-keep)}`;
}
