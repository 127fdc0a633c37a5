// The BN254 scalar field (the window tree's and the proof's field) and the
// arithmetic the binding needs, on BigInt.

/** r, the BN254 scalar field order. */
export const FIELD_ORDER =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** q, the BN254 base field order (curve coordinates). */
export const BASE_FIELD_ORDER =
  21888242871839275222246405745257275088696311157297823662689037894645226208583n;

export function mod(a, m = FIELD_ORDER) {
  const x = a % m;
  return x < 0n ? x + m : x;
}

export function modPow(base, exp, m = FIELD_ORDER) {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** The inverse of a non-zero x mod r (Fermat: x^(r-2)), as PayeeList.inverse. */
export function modInverse(x, m = FIELD_ORDER) {
  if (mod(x, m) === 0n) throw new Error('zero has no inverse');
  return modPow(x, m - 2n, m);
}

/** A value as `0x` + 64 hex digits. */
export function toHex32(x) {
  return `0x${BigInt(x).toString(16).padStart(64, '0')}`;
}

/** Parses a field element from `0x` hex or decimal; checks it is below r. */
export function parseFieldElement(value, what = 'value') {
  let x;
  try {
    x = BigInt(value);
  } catch {
    throw new Error(`${what} ${JSON.stringify(value)} is not a number`);
  }
  if (x < 0n || x >= FIELD_ORDER) throw new Error(`${what} ${value} is not below r`);
  return x;
}
