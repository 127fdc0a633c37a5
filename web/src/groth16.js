// The contract's proof encoding (ARCHITECTURE item 11, Groth16Verifier.sol):
//   uint256[8] = [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]
// (G2 coordinates imaginary part first, as the pairing precompile reads
// them) into snarkjs's proof.json (ffjavascript's toObject: projective with
// z = 1, G2 coordinates [c0, c1]; circuits/src/ceremony/snarkjs_json.rs).

export function proofWordsToSnarkjs(words) {
  if (!Array.isArray(words) || words.length !== 8) throw new Error('a proof is 8 words');
  const w = words.map((x) => BigInt(x).toString());
  return {
    pi_a: [w[0], w[1], '1'],
    pi_b: [
      [w[3], w[2]],
      [w[5], w[4]],
      ['1', '0'],
    ],
    pi_c: [w[6], w[7], '1'],
    protocol: 'groth16',
    curve: 'bn128',
  };
}
