// The node's JSON API (node/src/api/mod.rs), same origin. Errors say which
// request failed and whether the node was unreachable or answered an error.
import { parseJson } from './json.js';

export class ApiError extends Error {
  constructor(message, { status = null, unreachable = false } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.unreachable = unreachable;
  }
}

const listeners = new Set();

/** Called with `null` after a successful request, an ApiError after an unreachable node. */
export function onApiHealth(fn) {
  listeners.add(fn);
}

function report(error) {
  for (const fn of listeners) fn(error);
}

/** GET a JSON path (e.g. `/api/v1/pool`); throws ApiError. */
export async function apiGet(path) {
  let response;
  try {
    response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  } catch (e) {
    const err = new ApiError(`Cannot reach the node API (GET ${path}): ${e.message}`, { unreachable: true });
    report(err);
    throw err;
  }
  const text = await response.text();
  report(null);
  let body = null;
  try {
    body = text ? parseJson(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const why = body && typeof body.error === 'string' ? body.error : text.slice(0, 200) || response.statusText;
    throw new ApiError(`GET ${path}: HTTP ${response.status}: ${why}`, { status: response.status });
  }
  if (body === null) throw new ApiError(`GET ${path}: the answer is not JSON`, { status: response.status });
  return body;
}

let configPromise;
/** `GET /api/v1/config`, once per page. */
export function getConfig() {
  if (!configPromise) {
    configPromise = apiGet('/api/v1/config').catch((e) => {
      configPromise = undefined;
      throw e;
    });
  }
  return configPromise;
}
