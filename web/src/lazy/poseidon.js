// Loaded only by the receipt check: circomlibjs's reference Poseidon (the
// circom parameters; the build keeps only the 8-input constants, the only
// width the window tree uses).
import buildPoseidonReference from 'circomlibjs-poseidon';

let hasher;

/** Poseidon of 8 field elements (BigInt) -> BigInt. */
export async function poseidon8() {
  if (!hasher) {
    const p = await buildPoseidonReference();
    hasher = (inputs) => {
      if (inputs.length !== 8) throw new Error('the window tree hashes groups of 8');
      return p.F.toObject(p(inputs));
    };
  }
  return hasher;
}
