// JSON with integers beyond 2^53: the node writes share weights (below
// 2^92) as plain JSON numbers, which JSON.parse would round. Integer
// literals that are not safe integers are read as decimal strings instead;
// every consumer turns weights into BigInt, which accepts both.

const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Parses JSON text, keeping unsafe integers exact as decimal strings. */
export function parseJson(text) {
  const safe = text.replace(TOKEN, (token) => {
    if (token[0] === '"' || !/^-?\d+$/.test(token)) return token;
    return Number.isSafeInteger(Number(token)) ? token : `"${token}"`;
  });
  return JSON.parse(safe);
}

/** Pretty JSON that writes BigInt values as decimal strings. */
export function stringifyJson(value) {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
}
