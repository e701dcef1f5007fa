// What the counsellors' page (console.js) and the programme view (programme.js) share:
// building elements and talking to the JSON API with the CSRF header.
"use strict";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || "";
    this.body = body;
  }
}

// One JSON call; `onUnauthorized(path)` runs on a 401 before the error is thrown.
async function apiRequest(method, path, body, csrf, onUnauthorized) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let resp;
  try {
    resp = await fetch(path, { method, headers, credentials: "same-origin",
                               body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, { code: "network", error: String(err) });
  }
  const data = await resp.json().catch(() => ({}));
  if (resp.status === 401) onUnauthorized(path);
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}
