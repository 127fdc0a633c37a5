// Bitcoin transactions as the coinbase of a settled block carries them, and
// the window-root commitment in them (DESIGN item 7, ARCHITECTURE item 7):
// an output whose scriptPubKey is exactly
//   6a 25 "SHPF" 01 <root, 32 bytes big-endian>      (39 bytes)
// whatever its value. A coinbase needs exactly one; its root must be below r.

import { FIELD_ORDER } from './field.js';

export const COMMITMENT_PREFIX = [0x6a, 0x25, 0x53, 0x48, 0x50, 0x46, 0x01];
export const COMMITMENT_SCRIPT_LEN = 39;

export function hexToBytes(hex) {
  const s = String(hex).trim().replace(/^0x/i, '');
  if (s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) throw new Error(`not hex: ${shorten(hex)}`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  let s = '0x';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The bytes in reverse order (Bitcoin's display order of hashes and back). */
export function reverseHex(hex) {
  return bytesToHex(hexToBytes(hex).reverse());
}

function shorten(s) {
  const t = String(s);
  return t.length > 20 ? `${t.slice(0, 20)}…` : t;
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 0;
  }
  take(n, what) {
    if (this.at + n > this.bytes.length) {
      throw new Error(`transaction truncated reading ${what} at byte ${this.at} (needs ${n}, ${this.bytes.length - this.at} left)`);
    }
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(what) {
    return this.take(1, what)[0];
  }
  u32(what) {
    const b = this.take(4, what);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }
  u64(what) {
    const b = this.take(8, what);
    let v = 0n;
    for (let i = 7; i >= 0; i -= 1) v = (v << 8n) | BigInt(b[i]);
    return v;
  }
  /** Bitcoin's CompactSize, refusing non-canonical encodings. */
  varint(what) {
    const first = this.u8(what);
    if (first < 0xfd) return first;
    const size = first === 0xfd ? 2 : first === 0xfe ? 4 : 8;
    const b = this.take(size, what);
    let v = 0n;
    for (let i = size - 1; i >= 0; i -= 1) v = (v << 8n) | BigInt(b[i]);
    const min = size === 2 ? 0xfdn : size === 4 ? 0x10000n : 0x100000000n;
    if (v < min) throw new Error(`non-canonical CompactSize for ${what}`);
    if (v > BigInt(this.bytes.length)) throw new Error(`${what} of ${v} exceeds the transaction`);
    return Number(v);
  }
}

/**
 * Parses a serialized transaction, legacy or segwit (BIP 144: marker 0x00,
 * flag 0x01, witnesses after the outputs). Throws on truncated input or
 * trailing bytes.
 */
export function parseTransaction(input) {
  const bytes = typeof input === 'string' ? hexToBytes(input) : input;
  const r = new Reader(bytes);
  const version = r.u32('version');
  let segwit = false;
  if (bytes[r.at] === 0x00 && bytes[r.at + 1] === 0x01) {
    segwit = true;
    r.at += 2;
  }
  const inputCount = r.varint('input count');
  if (inputCount === 0) throw new Error('transaction has no inputs');
  const inputs = [];
  for (let i = 0; i < inputCount; i += 1) {
    const prevout = r.take(32, `input ${i} prevout`);
    const vout = r.u32(`input ${i} index`);
    const scriptSig = r.take(r.varint(`input ${i} script length`), `input ${i} script`);
    const sequence = r.u32(`input ${i} sequence`);
    inputs.push({ prevTxid: bytesToHex(prevout.slice().reverse()), vout, scriptSig, sequence });
  }
  const outputCount = r.varint('output count');
  const outputs = [];
  for (let i = 0; i < outputCount; i += 1) {
    const value = r.u64(`output ${i} value`);
    const script = r.take(r.varint(`output ${i} script length`), `output ${i} script`);
    outputs.push({ value, script });
  }
  const witnesses = [];
  if (segwit) {
    for (let i = 0; i < inputCount; i += 1) {
      const items = [];
      const n = r.varint(`input ${i} witness count`);
      for (let j = 0; j < n; j += 1) items.push(r.take(r.varint(`witness ${i}.${j} length`), `witness ${i}.${j}`));
      witnesses.push(items);
    }
  }
  const locktime = r.u32('locktime');
  if (r.at !== bytes.length) throw new Error(`${bytes.length - r.at} trailing bytes after the transaction`);
  return { version, segwit, inputs, outputs, witnesses, locktime, size: bytes.length };
}

/** Whether a parsed transaction is a coinbase (one input spending nothing). */
export function isCoinbase(tx) {
  return (
    tx.inputs.length === 1 &&
    tx.inputs[0].vout === 0xffffffff &&
    /^0x0{64}$/.test(tx.inputs[0].prevTxid)
  );
}

/** The BIP 34 height from a coinbase's scriptSig (its first push), or null. */
export function coinbaseHeight(tx) {
  const s = tx.inputs[0]?.scriptSig;
  if (!s || s.length === 0) return null;
  const op = s[0];
  if (op === 0x00) return 0;
  if (op >= 0x51 && op <= 0x60) return op - 0x50;
  if (op >= 0x01 && op <= 0x08 && s.length > op) {
    let v = 0n;
    for (let i = op; i >= 1; i -= 1) v = (v << 8n) | BigInt(s[i]);
    return Number(v);
  }
  return null;
}

/** Whether a scriptPubKey is exactly the commitment script. */
export function isCommitmentScript(script) {
  if (script.length !== COMMITMENT_SCRIPT_LEN) return false;
  return COMMITMENT_PREFIX.every((b, i) => script[i] === b);
}

/**
 * The window-root commitment of a coinbase: `{ ok: true, root, output }`
 * (root as a BigInt and `0x` hex) or `{ ok: false, error, reason }` with
 * error `missing`, `duplicate` or `root_not_in_field` (the contracts' and
 * share-verifier's verdicts).
 */
export function findCommitment(tx) {
  const found = [];
  tx.outputs.forEach((o, i) => {
    if (isCommitmentScript(o.script)) found.push(i);
  });
  if (found.length === 0) {
    return { ok: false, error: 'missing', reason: 'no output is the commitment OP_RETURN "SHPF" 0x01 <root>' };
  }
  if (found.length > 1) {
    return { ok: false, error: 'duplicate', reason: `${found.length} commitment outputs (outputs ${found.join(', ')}); exactly one is allowed` };
  }
  const output = found[0];
  const rootHex = bytesToHex(tx.outputs[output].script.subarray(7));
  const root = BigInt(rootHex);
  if (root >= FIELD_ORDER) {
    return { ok: false, error: 'root_not_in_field', reason: `the committed root ${rootHex} is not below r`, output, rootHex };
  }
  return { ok: true, root, rootHex, output };
}

/** Sum of the outputs paying exactly `script` (the reward R). */
export function rewardTo(tx, script) {
  const want = typeof script === 'string' ? hexToBytes(script) : script;
  let sum = 0n;
  for (const o of tx.outputs) {
    if (o.script.length === want.length && o.script.every((b, i) => b === want[i])) sum += o.value;
  }
  return sum;
}

/** The legacy (non-witness) serialization, whose double SHA-256 is the txid. */
export function legacySerialization(tx) {
  const parts = [];
  const u32 = (v) => parts.push(Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff));
  const varint = (n) => {
    if (n < 0xfd) parts.push(Uint8Array.of(n));
    else if (n <= 0xffff) parts.push(Uint8Array.of(0xfd, n & 0xff, n >>> 8));
    else {
      parts.push(Uint8Array.of(0xfe));
      u32(n);
    }
  };
  u32(tx.version);
  varint(tx.inputs.length);
  for (const i of tx.inputs) {
    parts.push(hexToBytes(i.prevTxid).reverse());
    u32(i.vout);
    varint(i.scriptSig.length);
    parts.push(i.scriptSig);
    u32(i.sequence);
  }
  varint(tx.outputs.length);
  for (const o of tx.outputs) {
    const v = new Uint8Array(8);
    let x = o.value;
    for (let k = 0; k < 8; k += 1) {
      v[k] = Number(x & 0xffn);
      x >>= 8n;
    }
    parts.push(v);
    varint(o.script.length);
    parts.push(o.script);
  }
  u32(tx.locktime);
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
