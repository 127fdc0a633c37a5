// Test helpers: the repository's fixtures, circomlibjs's reference Poseidon
// (the full package, not the browser bundle's pruned constants), and a
// window built the way share-verifier's Window and circuits' fixture do.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import buildPoseidonReference from '../../node_modules/circomlibjs/src/poseidon_reference.js';
import { packSlot, shareHashToField, ARITY } from '../src/receipt.js';
import { bytesToHex } from '../src/coinbase.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readJson(rel) {
  return JSON.parse(readFileSync(join(ROOT, rel), 'utf8'));
}

export function readText(rel) {
  return readFileSync(join(ROOT, rel), 'utf8');
}

let poseidon;
/** circomlibjs's Poseidon as BigInt -> BigInt. */
export async function poseidonHash() {
  if (!poseidon) poseidon = await buildPoseidonReference();
  const p = poseidon;
  return (inputs) => p.F.toObject(p(inputs));
}

const MASK64 = (1n << 64n) - 1n;

/** circuits::fixture::SplitMix64. */
export class SplitMix64 {
  constructor(seed) {
    this.state = BigInt(seed) & MASK64;
  }
  next() {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }
  /** A share hash's 32 digest bytes from the next four words (LE each). */
  nextHashBytes() {
    const out = new Uint8Array(32);
    for (let c = 0; c < 4; c += 1) {
      let w = this.next();
      for (let i = 0; i < 8; i += 1) {
        out[c * 8 + i] = Number(w & 0xffn);
        w >>= 8n;
      }
    }
    return out;
  }
}

/** circuits::fixture::sample_address. */
export function sampleAddress(seed, i) {
  const rng = new SplitMix64(BigInt(seed) ^ 0xadd7e55e5eedn ^ ((BigInt(i) * 0x10000001n) & MASK64));
  const bytes = new Uint8Array(20);
  for (let c = 0; c < 3; c += 1) {
    let w = rng.next();
    const be = new Uint8Array(8);
    for (let k = 7; k >= 0; k -= 1) {
      be[k] = Number(w & 0xffn);
      w >>= 8n;
    }
    bytes.set(be.subarray(0, Math.min(8, 20 - c * 8)), c * 8);
  }
  bytes[19] |= 1;
  return bytesToHex(bytes);
}

/**
 * circuits::fixture::fixture_window_with as a snapshot in the node's JSON
 * shape (share hashes in display order, i.e. reversed digest bytes).
 */
export function fixtureWindow(log2Slots, payees) {
  const n = 1n << BigInt(log2Slots);
  const seed = 0x53485046n;
  const rng = new SplitMix64(seed ^ BigInt(payees));
  const shares = n + 3n;
  const entries = [];
  for (let seq = 0n; seq < shares; seq += 1n) {
    const inWindow = seq >= shares - n ? seq - (shares - n) : null;
    const miner = inWindow !== null && inWindow < BigInt(payees) ? inWindow : rng.next() % BigInt(payees);
    const raw = rng.next() >> 24n;
    const digest = rng.nextHashBytes();
    entries.push({
      seq: Number(seq),
      address: sampleAddress(seed, miner),
      weight: (raw > 1n ? raw : 1n).toString(),
      share_hash: bytesToHex(digest.slice().reverse()).slice(2),
    });
  }
  const kept = entries.filter((e) => BigInt(e.seq) >= shares - n);
  return { log2_slots: log2Slots, next_seq: Number(shares), entries: kept };
}

/** The tree levels of a snapshot: levels[0] the 2N leaves, the last [root]. */
export async function windowLevels(snapshot, hash8) {
  const n = 1 << snapshot.log2_slots;
  const leaves = new Array(2 * n).fill(0n);
  for (const e of snapshot.entries) {
    const slot = Number(BigInt(e.seq) % BigInt(n));
    leaves[2 * slot] = packSlot(e.address, e.weight);
    leaves[2 * slot + 1] = shareHashToField(e.share_hash);
  }
  const levels = [leaves];
  let level = leaves;
  do {
    const next = [];
    for (let g = 0; g < level.length; g += ARITY) {
      const group = level.slice(g, g + ARITY);
      while (group.length < ARITY) group.push(0n);
      next.push(await hash8(group));
    }
    levels.push(next);
    level = next;
  } while (level.length > 1);
  return levels;
}

const hex32 = (x) => `0x${x.toString(16).padStart(64, '0')}`;

/** share-verifier's Window::receipt, in the node's JSON shape. */
export function receiptOf(snapshot, levels, seq) {
  const n = 1n << BigInt(snapshot.log2_slots);
  const entry = snapshot.entries.find((e) => BigInt(e.seq) === BigInt(seq));
  const slot = BigInt(seq) % n;
  let group = (2n * slot) / 8n;
  const out = [];
  for (let l = 0; l < levels.length - 1; l += 1) {
    const g = [];
    for (let i = 0; i < 8; i += 1) {
      const v = levels[l][Number(group) * 8 + i];
      g.push(hex32(v === undefined ? 0n : v));
    }
    out.push(g);
    group /= 8n;
  }
  return {
    entry,
    slot: Number(slot),
    log2_slots: snapshot.log2_slots,
    levels: out,
    root: hex32(levels[levels.length - 1][0]),
  };
}
