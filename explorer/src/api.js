// The one door to the REST API: Bearer token, JSON errors as ApiError, blobs for downloads.
import { session } from "./session.js";

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `request failed (${status})`);
    this.status = status;
    this.code = error.code || "error";
    this.hint = error.hint || "";
  }
}

const listeners = new Set();

/** Called with the ApiError whenever the server answers 401 (token missing, wrong or revoked). */
export function onUnauthorized(callback) {
  listeners.add(callback);
}

function url(path, params) {
  const target = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") {
      target.searchParams.set(key, String(value));
    }
  }
  return target;
}

async function errorOf(response) {
  let error = {};
  try {
    const body = await response.json();
    error = (body && body.error) || {};
  } catch {
    error = {};
  }
  if (!error.message) {
    error.message = `${response.status} ${response.statusText}`;
  }
  return new ApiError(response.status, error);
}

async function request(path, { method = "GET", params, body } = {}) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url(path, params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) {
      listeners.forEach((callback) => callback(error));
    }
    throw error;
  }
  return response;
}

const enc = encodeURIComponent;

function inProject(suffix) {
  return `/api/v1/p/${enc(session.project)}/${suffix}`;
}

async function json(path, options) {
  return (await request(path, options)).json();
}

/** The file name a Content-Disposition header names, else the fallback. */
function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      return fallback;
    }
  }
  const plain = /filename="([^"]+)"/i.exec(header);
  return plain ? plain[1] : fallback;
}

async function blob(path, params, fallback) {
  const response = await request(path, { params });
  return { blob: await response.blob(), filename: filenameOf(response, fallback) };
}

export const api = {
  kinds: () => json(inProject("kinds")),
  search: (q, kind, cursor) => json(inProject("entities"), { params: { q, kind, cursor, limit: 50 } }),
  entity: (ref) => json(inProject(`entities/${enc(ref)}`)),
  files: (ref) => json(inProject(`entities/${enc(ref)}/files`)),
  download: (ref, digest, name) => blob(inProject(`entities/${enc(ref)}/files/${enc(digest)}`), {}, name),
  thumbnail: (ref) => blob(inProject(`entities/${enc(ref)}/thumbnail`), {}, "thumbnail.png"),
  lineage: (ref, params) => json(inProject(`lineage/${enc(ref)}`), { params }),
  rights: (ref, params) => json(inProject(`rights/${enc(ref)}`), { params }),
  contains: (ref, talent) => json(inProject(`contains/${enc(ref)}`), { params: { talent } }),
  revoke: (target, reason, dryRun) =>
    json(inProject("revoke"), { method: "POST", body: { target, reason, dry_run: dryRun } }),
  metrics: (ref) => json(inProject(`runs/${enc(ref)}/metrics`)),
  report: (ref, format) => blob(inProject(`reports/${enc(ref)}`), { format }, `report.${format}`),
};
