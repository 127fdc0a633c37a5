// A share receipt (`GET /api/v1/shares/{seq}/receipt`, share-verifier's
// `ShareReceipt`) checked against a window root, the way
// `ShareReceipt::verify` does, with a Poseidon the caller provides
// (circomlibjs in the browser): DESIGN items 3 to 6.
//
//   slot   = seq mod N, N = 2^log2_slots
//   leaves = packed_0, hash_0, packed_1, hash_1, ...   (2N elements)
//   packed = address * 2^92 + weight, hash = share hash (LE integer) mod r
//   level 0 holds the 8 leaves of the share's group, level i the 8 nodes
//   whose Poseidon hash is the parent on the path; the last hash is the root.

import { FIELD_ORDER, parseFieldElement, toHex32 } from './field.js';

export const ARITY = 8;
export const WEIGHT_BITS = 92n;
export const MAX_LOG2_SLOTS = 24;

/** The number of hash levels of a 2^k-slot tree (share-verifier's tree_depth). */
export function treeDepth(log2Slots) {
  let len = 2 << log2Slots;
  let depth = 0;
  for (;;) {
    len = Math.ceil(len / ARITY);
    depth += 1;
    if (len === 1) return depth;
  }
}

/**
 * A share hash as the node writes it (hex in Bitcoin's display order, i.e.
 * the digest reversed) as a field element: the digest read little-endian,
 * which is the display hex read big-endian, reduced mod r (DESIGN item 3).
 */
export function shareHashToField(displayHex) {
  const s = String(displayHex).replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw new Error(`share hash ${displayHex} is not 64 hex digits`);
  return BigInt(`0x${s}`) % FIELD_ORDER;
}

/** `address * 2^92 + weight` (DESIGN item 5). */
export function packSlot(address, weight) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(String(address))) throw new Error(`address ${address} is not 0x + 40 hex digits`);
  const w = BigInt(weight);
  if (w < 0n || w >> WEIGHT_BITS !== 0n) throw new Error(`weight ${weight} is not below 2^92`);
  return BigInt(address) * (1n << WEIGHT_BITS) + w;
}

/**
 * Checks `receipt` against `root` (BigInt). `hash8` maps 8 BigInts to their
 * Poseidon hash (BigInt). Returns `{ valid, reason, steps, computedRoot }`;
 * `steps` lists each check in order with its outcome, for display. Never
 * throws for a malformed receipt: that is an invalid receipt with a reason.
 */
export async function verifyReceipt(receipt, root, hash8) {
  const steps = [];
  const fail = (reason, extra = {}) => ({ valid: false, reason, steps, ...extra });
  let entry;
  let slot;
  let log2;
  let levels;
  try {
    if (!receipt || typeof receipt !== 'object') throw new Error('the receipt is not a JSON object');
    entry = receipt.entry;
    if (!entry || typeof entry !== 'object') throw new Error('the receipt has no entry');
    log2 = Number(receipt.log2_slots);
    if (!Number.isInteger(log2) || log2 < 1 || log2 > MAX_LOG2_SLOTS) throw new Error(`log2_slots ${receipt.log2_slots} is outside 1..24`);
    slot = BigInt(receipt.slot);
    if (!Array.isArray(receipt.levels)) throw new Error('the receipt has no levels array');
    levels = receipt.levels.map((level, i) => {
      if (!Array.isArray(level) || level.length !== ARITY) throw new Error(`level ${i} has ${Array.isArray(level) ? level.length : 'no'} elements, not 8`);
      return level.map((x, j) => parseFieldElement(x, `level ${i} element ${j}`));
    });
  } catch (e) {
    return fail(`malformed receipt: ${e.message}`);
  }

  let seq;
  let packed;
  let shareHash;
  try {
    seq = BigInt(entry.seq);
    packed = packSlot(entry.address, entry.weight);
    shareHash = shareHashToField(entry.share_hash);
  } catch (e) {
    return fail(`malformed entry: ${e.message}`);
  }

  const n = 1n << BigInt(log2);
  const expectedSlot = seq % n;
  const slotOk = slot === expectedSlot;
  steps.push({ check: 'slot', ok: slotOk, detail: `share ${seq} in a 2^${log2}-slot window belongs in slot ${expectedSlot}; the receipt says ${slot}` });
  if (!slotOk) return fail(`the receipt places share ${seq} in slot ${slot}, expected slot ${expectedSlot}`);

  const depth = treeDepth(log2);
  const depthOk = levels.length === depth;
  steps.push({ check: 'depth', ok: depthOk, detail: `a 2^${log2}-slot window has ${depth} levels; the receipt has ${levels.length}` });
  if (!depthOk) return fail(`the receipt has ${levels.length} levels, a 2^${log2}-slot window needs ${depth}`);

  const position = Number((2n * slot) % BigInt(ARITY));
  const leafOk = levels[0][position] === packed && levels[0][position + 1] === shareHash;
  steps.push({
    check: 'leaf',
    ok: leafOk,
    detail: `level 0 positions ${position}, ${position + 1} must hold packed = address·2^92 + weight = ${toHex32(packed)} and the share hash ${toHex32(shareHash)}`,
  });
  if (!leafOk) return fail("the receipt's slot elements do not match the share (packed or hash differs)");

  let node = await hash8(levels[0]);
  steps.push({ check: 'hash', level: 0, ok: true, node: toHex32(node), detail: `Poseidon of level 0 = ${toHex32(node)}` });
  let group = (2n * slot) / BigInt(ARITY);
  for (let i = 1; i < levels.length; i += 1) {
    const at = Number(group % BigInt(ARITY));
    const ok = levels[i][at] === node;
    steps.push({ check: 'path', level: i, ok, detail: `level ${i} position ${at} must be the hash of level ${i - 1}` });
    if (!ok) return fail(`receipt level ${i} does not contain the hash of level ${i - 1}`);
    node = await hash8(levels[i]);
    steps.push({ check: 'hash', level: i, ok: true, node: toHex32(node), detail: `Poseidon of level ${i} = ${toHex32(node)}` });
    group /= BigInt(ARITY);
  }
  const rootOk = node === BigInt(root);
  steps.push({ check: 'root', ok: rootOk, detail: `computed root ${toHex32(node)}; committed root ${toHex32(root)}` });
  if (!rootOk) return fail(`the receipt hashes to root ${toHex32(node)}, not the committed ${toHex32(root)}`, { computedRoot: node });
  return { valid: true, reason: 'the share is in the committed window', steps, computedRoot: node };
}
