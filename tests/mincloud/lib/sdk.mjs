// Loads the real minapp-sdk web build (lib/web.js) the way a browser page would, under jsdom with
// the xhr2 package as XMLHttpRequest (the contract's capture ran the same way), pointed at the
// Phonebase under test through BaaS.init(clientID, {host}).
//
// Environment (set by run.sh): PHONEBASE_URL, CLIENT_ID, SINK_PATH.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

import { JSDOM } from 'jsdom';
import XMLHttpRequest from 'xhr2';

export const env = {
  url: must('PHONEBASE_URL'),
  clientId: must('CLIENT_ID'),
  sink: must('SINK_PATH'),
};

function must(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite through tests/mincloud/run.sh`);
  return value;
}

const dom = new JSDOM('<!doctype html><html><body></body></html>', { url: 'http://localhost/' });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.localStorage = dom.window.localStorage;
if (typeof globalThis.navigator === 'undefined') globalThis.navigator = dom.window.navigator;
globalThis.XMLHttpRequest = XMLHttpRequest;
dom.window.XMLHttpRequest = XMLHttpRequest;

const require = createRequire(import.meta.url);
/** The SDK, initialised for the app under test. */
export const BaaS = require('minapp-sdk/lib/web.js');
BaaS.init(env.clientId, { host: env.url });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function readSink() {
  let text = '';
  try {
    text = await readFile(env.sink, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

export async function sinkFor(e164) {
  return (await readSink()).filter((m) => m.to === e164);
}

/** Waits for the (count+1)-th sink line for `e164`; returns its 6-digit code. */
export async function codeAfter(e164, count, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await sinkFor(e164);
    if (lines.length > count) {
      const m = /(?<!\d)(\d{6})(?!\d)/.exec(lines[count].text);
      if (!m) throw new Error(`no 6-digit code in ${lines[count].text}`);
      return m[1];
    }
    if (Date.now() > deadline) throw new Error(`no new message for ${e164} within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Sends a code with BaaS.sendSmsCode and reads it from the development sink. */
export async function sendAndRead(phone) {
  const e164 = `+86${phone}`;
  const before = (await sinkFor(e164)).length;
  const res = await BaaS.sendSmsCode({ phone });
  return { res, code: await codeAfter(e164, before) };
}

/** Distinct mainland numbers per test, from a random block (reruns keep clear of the limits). */
let next = Math.floor(Math.random() * 9000);
export function phone() {
  return `1370013${String(next++ % 10000).padStart(4, '0')}`;
}

/** The error the SDK rejects with: HError(code = HTTP status, message "<status>: <error_msg>"). */
export async function rejectsWith(promise, status) {
  try {
    await promise;
  } catch (e) {
    if (e.code !== status) throw new Error(`expected HError ${status}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected HError ${status}, but it resolved`);
}
