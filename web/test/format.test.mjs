import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatHashrate, formatBtc, formatSats, formatAmount, formatInteger, formatPercent, formatBps, formatAgo, shortHex, formatTime,
} from '../src/format.js';
import { parseJson, stringifyJson } from '../src/json.js';

test('hash rates get SI prefixes', () => {
  assert.equal(formatHashrate(0), '0 H/s');
  assert.equal(formatHashrate(12.345), '12.3 H/s');
  assert.equal(formatHashrate(1234567), '1.23 MH/s');
  assert.equal(formatHashrate(999.7e3), '1 MH/s');
  assert.equal(formatHashrate(456e12), '456 TH/s');
  assert.equal(formatHashrate(2.5e15), '2.5 PH/s');
  assert.equal(formatHashrate(null), '—');
});

test('amounts are BTC and sats', () => {
  assert.equal(formatBtc(312512345), '3.12512345 BTC');
  assert.equal(formatBtc(1n), '0.00000001 BTC');
  assert.equal(formatBtc('2100000000000000'), '21,000,000.00000000 BTC');
  assert.equal(formatSats(1), '1 sat');
  assert.equal(formatSats(1234567), '1,234,567 sats');
  assert.equal(formatAmount(0), '0.00000000 BTC (0 sats)');
  assert.equal(formatInteger('1237940039285380274899124224'), '1,237,940,039,285,380,274,899,124,224');
});

test('percentages, fees, ages and hex', () => {
  assert.equal(formatPercent(0.123456), '12.35 %');
  assert.equal(formatBps(150), '1.50 %');
  assert.equal(formatAgo(100, 142), '42 s ago');
  assert.equal(formatAgo(0, 7200), '2 h ago');
  assert.equal(shortHex(`0x${'ab'.repeat(32)}`), '0xababab…ababab');
  const utc = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', dateStyle: 'short', timeStyle: 'short' });
  assert.equal(formatTime(0, utc), '01/01/1970, 00:00');
});

test('JSON keeps integers beyond 2^53 exact', () => {
  const v = parseJson('{"w": 1237940039285380274899124224, "s": 5, "f": 1.5e3, "t": "x: 99999999999999999999", "a": [18446744073709551615]}');
  assert.deepEqual(v, { w: '1237940039285380274899124224', s: 5, f: 1500, t: 'x: 99999999999999999999', a: ['18446744073709551615'] });
  assert.equal(stringifyJson({ b: 3n }), '{\n  "b": "3"\n}');
});
