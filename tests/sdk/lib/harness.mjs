// Helpers for the SDK suite: configuration from the environment, the development SMS sink,
// a recording HTTP proxy (to see what the real SDK puts on the wire), the phonebase CLI and
// an isolated SDK instance in a child process (the SDK is a process-wide singleton).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (run tests/sdk/run.sh)`);
  return v;
}

export const env = {
  url: required('PHONEBASE_URL').replace(/\/+$/, ''),
  appId: required('APP_ID'),
  appKey: required('APP_KEY'),
  masterKey: required('MASTER_KEY'),
  sinkPath: required('SINK_PATH'),
  // Optional: a test number with a fixed code configured in the app's settings.
  testNumber: process.env.TEST_NUMBER || '',
  testNumberCode: process.env.TEST_NUMBER_CODE || '',
  // Optional: the phonebase binary (with PHONEBASE_DATA_DIR / DATABASE_URL in the environment),
  // used to create extra apps and patch settings at run time. Not named PHONEBASE_*: the server
  // reads every PHONEBASE_* variable as configuration and refuses unknown ones.
  bin: process.env.PB_BIN || '',
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function md5(s) {
  return createHash('md5').update(s).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// SMS sink: one JSON object per line, appended by the delivery worker.

/** Asserts that `p` (a promise, or a function returning one or throwing) rejects with an AVError
 * carrying `code`; returns the error. */
export async function rejectsWith(p, code, what = '') {
  let err;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected rejection with code ${code}${what ? ` (${what})` : ''}, but it resolved`);
  assert.equal(err.code, code, `error code${what ? ` (${what})` : ''}: ${err.message}`);
  return err;
}

/** HTTP status of an SDK error, from the " [status METHOD url]" suffix of its message. */
export function statusOf(err) {
  const m = / \[(\d{3}) [A-Z]+ \S+\]$/.exec(err.message);
  return m ? Number(m[1]) : undefined;
}

export async function readSink() {
  let text;
  try {
    text = await readFile(env.sinkPath, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // A line being written right now; it is complete on the next read.
    }
  }
  return out;
}

export async function sinkFor(e164) {
  return (await readSink()).filter((m) => m.to === e164);
}

/** Waits for the (count+1)-th sink line for `e164` and returns it. */
export async function waitForMessage(e164, count, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await sinkFor(e164);
    if (lines.length > count) return lines[count];
    if (Date.now() > deadline) {
      throw new Error(`no new sink message for ${e164} within ${timeoutMs} ms (had ${lines.length})`);
    }
    await sleep(50);
  }
}

export function codeOf(message) {
  const m = /(?<!\d)(\d{6})(?!\d)/.exec(message.text);
  if (!m) throw new Error(`no 6-digit code in sink text: ${message.text}`);
  return m[1];
}

/** A 6-digit code that differs from `code`. */
export function otherCode(code) {
  return String((Number(code) + 1) % 1000000).padStart(6, '0');
}

// ---------------------------------------------------------------------------------------------
// Recording proxy in front of the server: the SDK talks to it, it forwards everything unchanged.

export async function startProxy(target) {
  const upstream = new URL(target);
  const records = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const rec = { method: req.method, url: req.url, headers: req.headers, body: body.toString('utf8') };
      records.push(rec);
      const fwd = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (up) => {
          const upChunks = [];
          up.on('data', (c) => upChunks.push(c));
          up.on('end', () => {
            const upBody = Buffer.concat(upChunks);
            rec.status = up.statusCode;
            rec.responseHeaders = up.headers;
            rec.response = upBody.toString('utf8');
            const headers = { ...up.headers };
            delete headers['transfer-encoding'];
            headers['content-length'] = String(upBody.length);
            res.writeHead(up.statusCode, headers);
            res.end(upBody);
          });
        },
      );
      fwd.on('error', (e) => {
        rec.status = 502;
        rec.response = String(e);
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: -1, error: `proxy: ${e.message}` }));
      });
      fwd.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    /** Records whose path (without the query) ends with `suffix`. */
    find(suffix) {
      return records.filter((r) => r.url.split('?')[0].endsWith(suffix));
    },
    last(suffix) {
      const all = this.find(suffix);
      return all[all.length - 1];
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The phonebase CLI (same data dir / database as the running server).

export async function cli(...args) {
  if (!env.bin) throw new Error('PHONEBASE_BIN is not set');
  // Only the server's own PHONEBASE_* settings: it rejects unknown ones (e.g. PHONEBASE_URL).
  const known = ['PHONEBASE_DATA_DIR', 'PHONEBASE_APP_CACHE_SECS', 'PHONEBASE_SECRET_KEY'];
  const childEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PHONEBASE_') || known.includes(k)),
  );
  const { stdout } = await execFileP(env.bin, args, {
    env: { ...childEnv, RUST_LOG: 'warn' },
    cwd: process.env.PHONEBASE_DATA_DIR || process.cwd(),
  });
  return stdout;
}

export async function createApp(name, settings) {
  const out = await cli('app', 'create', '--name', name, '--json');
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  const app = JSON.parse(line);
  if (settings) await updateApp(app.appId, settings);
  return app;
}

export async function updateApp(appId, settings) {
  await cli('app', 'update', appId, '--settings', JSON.stringify(settings));
}

// ---------------------------------------------------------------------------------------------
// A separate SDK instance in a child process. `calls` is a list of
// {fn: 'requestSmsCode'|'verifySmsCode'|'getServerDate', args: [...]}; each result is
// {ok: true, value} or {ok: false, code, message, rawMessage, thrown}.

export async function isolated({ appId, appKey, masterKey, serverURL, useMasterKey = false }, calls) {
  const spec = JSON.stringify({ appId, appKey, masterKey, serverURL, useMasterKey, calls });
  const { stdout, stderr } = await execFileP(process.execPath, [path.join(here, 'child.mjs'), spec], {
    cwd: path.dirname(here),
    timeout: 30000,
  });
  const line = stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`child produced no result.\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
}

/** Runs `phonebase import leancloud --app <appId> --json [flags...] <files...>`; returns its summary. */
export async function importLeanCloud(appId, files, ...flags) {
  const out = await cli('import', 'leancloud', '--app', appId, '--json', ...flags, ...files);
  return JSON.parse(out.trim().split('\n').pop());
}
