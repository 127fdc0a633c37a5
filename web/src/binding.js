// The settlement statement's binding of the payee list to the proof, as
// contracts/src/lib/PayeeList.sol computes it (docs/settlement.md):
//   record   = account (20 bytes) ‖ weight (16 bytes, big-endian)
//   h_D = 0, h_j = keccak256(record_j ‖ h_{j+1}), listHash = h_0
//   beta     = uint256(keccak256(windowRoot ‖ X ‖ listHash)) mod r
//   T        = Σ W_j / (beta − A_j) mod r,  A_j = uint160(account_j)
// and the allocation of DESIGN item 8 for display.

import { keccak256, getAddress } from 'viem';
import { hexToBytes, bytesToHex } from './coinbase.js';
import { FIELD_ORDER, mod, modInverse, toHex32 } from './field.js';

export const RECORD_SIZE = 36;
const ZERO32 = `0x${'0'.repeat(64)}`;

/**
 * The payee list of a window snapshot (`/api/v1/blocks/{hash}/snapshot`):
 * its entries grouped by address, weights summed, sorted ascending by
 * address. Returns `[{ account, weight }]` (checksummed account, BigInt weight).
 */
export function payeesOfSnapshot(snapshot) {
  const byAccount = new Map();
  for (const e of snapshot.entries || []) {
    const key = BigInt(e.address);
    byAccount.set(key, (byAccount.get(key) || 0n) + BigInt(e.weight));
  }
  return [...byAccount.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([a, weight]) => ({ account: getAddress(`0x${a.toString(16).padStart(40, '0')}`), weight }));
}

/** Problems with a list that the contract would refuse (PayeeList.check), or []. */
export function listProblems(payees) {
  const problems = [];
  let previous = 0n;
  payees.forEach((p, i) => {
    const a = BigInt(p.account);
    const w = BigInt(p.weight);
    if (a <= previous) problems.push(`record ${i}: account ${p.account} is zero or not above the one before (PayeeListNotAscending)`);
    if (w === 0n) problems.push(`record ${i}: weight zero (PayeeListZeroWeight)`);
    if (w < 0n || w >> 128n !== 0n) problems.push(`record ${i}: weight ${w} does not fit 16 bytes`);
    previous = a;
  });
  return problems;
}

/** One 36-byte record. */
export function encodeRecord({ account, weight }) {
  const out = new Uint8Array(RECORD_SIZE);
  out.set(hexToBytes(account), 0);
  let w = BigInt(weight);
  if (w < 0n || w >> 128n !== 0n) throw new Error(`weight ${weight} does not fit 16 bytes`);
  for (let i = 35; i >= 20; i -= 1) {
    out[i] = Number(w & 0xffn);
    w >>= 8n;
  }
  return out;
}

/** The packed list, as `settle`'s `payees` argument carries it. */
export function encodeList(payees) {
  const out = new Uint8Array(payees.length * RECORD_SIZE);
  payees.forEach((p, i) => out.set(encodeRecord(p), i * RECORD_SIZE));
  return out;
}

/** Records of packed calldata back into `[{ account, weight }]`. */
export function decodeList(bytes) {
  const b = typeof bytes === 'string' ? hexToBytes(bytes) : bytes;
  if (b.length % RECORD_SIZE !== 0) throw new Error(`payee list of ${b.length} bytes is not whole 36-byte records`);
  const out = [];
  for (let at = 0; at < b.length; at += RECORD_SIZE) {
    const account = getAddress(bytesToHex(b.subarray(at, at + 20)));
    let weight = 0n;
    for (let i = at + 20; i < at + RECORD_SIZE; i += 1) weight = (weight << 8n) | BigInt(b[i]);
    out.push({ account, weight });
  }
  return out;
}

/** h_0 of the record chain (0x00…00 for the empty list). */
export function listHash(payees) {
  let h = ZERO32;
  const buf = new Uint8Array(RECORD_SIZE + 32);
  for (let j = payees.length - 1; j >= 0; j -= 1) {
    buf.set(encodeRecord(payees[j]), 0);
    buf.set(hexToBytes(h), RECORD_SIZE);
    h = keccak256(buf);
  }
  return h;
}

/** beta = uint256(keccak256(windowRoot ‖ X ‖ listHash)) mod r. */
export function challenge(windowRoot, weightCommitment, hash) {
  const buf = new Uint8Array(96);
  buf.set(hexToBytes(toHex32(windowRoot)), 0);
  buf.set(hexToBytes(toHex32(weightCommitment)), 32);
  buf.set(hexToBytes(toHex32(BigInt(hash))), 64);
  return BigInt(keccak256(buf)) % FIELD_ORDER;
}

/** T = Σ W_j / (beta − A_j) mod r; throws when beta is one of the accounts. */
export function tableSum(payees, beta) {
  let t = 0n;
  for (const p of payees) {
    const d = mod(BigInt(beta) - BigInt(p.account));
    if (d === 0n) throw new Error(`the challenge beta equals the account ${p.account} (PayeeListChallengeIsAnAccount)`);
    t = mod(t + mod(BigInt(p.weight)) * modInverse(d));
  }
  return t;
}

/**
 * DESIGN item 8 from a settled block's figures: each payee's amount
 * floor(net · W_j / W) with net = reward − fee. Returns BigInt amounts.
 */
export function allocate(payees, reward, fee) {
  const net = BigInt(reward) - BigInt(fee);
  const total = payees.reduce((s, p) => s + BigInt(p.weight), 0n);
  const amounts = payees.map((p) => (total === 0n ? 0n : (net * BigInt(p.weight)) / total));
  const dust = net - amounts.reduce((s, a) => s + a, 0n);
  return { net, total, amounts, dust };
}
