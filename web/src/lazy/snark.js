// Loaded only by the proof check: snarkjs's Groth16 verifier. One
// single-threaded BN254 curve is built and left in ffjavascript's cache, so
// that verifying spawns no Web Workers.
import { buildBn128 } from 'ffjavascript';
import groth16Verify from 'snarkjs-groth16-verify';

export async function verifyGroth16(vk, publicSignals, proof) {
  if (!globalThis.curve_bn128) globalThis.curve_bn128 = await buildBn128(true);
  return groth16Verify(vk, publicSignals, proof);
}
