// Lazy migration through the real `leancloud-storage` SDK: the app's "LeanCloud" is a second
// Phonebase started here on its own SQLite data dir (it speaks LeanCloud's /1.1). Users that exist
// only there log in through the server under test with their passwords, and a sessionToken
// issued there works with AV.User.become, keeping its objectId. Needs PB_BIN (run tests/sdk/run.sh).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import AV from 'leancloud-storage';

import { cli, createApp, env, rejectsWith, sleep } from './lib/harness.mjs';

let upstream; // { url, appId, appKey, masterKey, child, dir }
let app;

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `phonebase serve` on its own data dir; resolves with its URL and first app's keys. */
async function startUpstream() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'phonebase-upstream-'));
  const port = await freePort();
  const childEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PHONEBASE_') && k !== 'DATABASE_URL'),
  );
  const child = spawn(env.bin, ['serve', '--bind', `127.0.0.1:${port}`], {
    env: { ...childEnv, PHONEBASE_DATA_DIR: dir, RUST_LOG: 'warn' },
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const keys = ['appId', 'appKey', 'masterKey'].map((k) => new RegExp(`${k}:\\s+(\\S+)`).exec(out)?.[1]);
    if (keys.every(Boolean)) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) {
          return { url, appId: keys[0], appKey: keys[1], masterKey: keys[2], child, dir };
        }
      } catch {
        // not listening yet
      }
    }
    if (i > 200) throw new Error(`the upstream server did not start: ${out}`);
    await sleep(50);
  }
}

/** Signs a user up on the upstream with its REST API; returns the user with its sessionToken. */
async function signUpUpstream(body) {
  const res = await fetch(`${upstream.url}/1.1/users`, {
    method: 'POST',
    headers: { 'X-LC-Id': upstream.appId, 'X-LC-Key': upstream.appKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const user = await res.json();
  assert.equal(res.status, 201, JSON.stringify(user));
  return user;
}

before(async () => {
  if (!env.bin) throw new Error('PB_BIN is not set: this suite starts a second server (run tests/sdk/run.sh)');
  upstream = await startUpstream();
  app = await createApp('sdk-upstream');
  const until = new Date(Date.now() + 30 * 86400_000).toISOString();
  await cli(
    'app', 'update', app.appId,
    '--upstream-leancloud', upstream.url,
    '--upstream-app-id', upstream.appId,
    '--upstream-app-key', upstream.appKey,
    '--upstream-master-key', upstream.masterKey,
    '--upstream-until', until,
  );
  AV.init({ appId: app.appId, appKey: app.appKey, serverURL: env.url });
});

after(async () => {
  await AV.User.logOut();
  if (upstream) {
    upstream.child.kill('SIGKILL');
    await rm(upstream.dir, { recursive: true, force: true });
  }
});

const suffix = () => randomBytes(4).toString('hex');

test("a sessionToken from the app's LeanCloud works with AV.User.become", async () => {
  const there = await signUpUpstream({ username: `ivy_${suffix()}`, password: 'pw-ivy-1', nickname: 'Ivy' });
  const user = await AV.User.become(there.sessionToken);
  assert.equal(user.id, there.objectId);
  assert.equal(user.getSessionToken(), there.sessionToken);
  assert.equal(user.get('nickname'), 'Ivy');
  assert.equal(AV.User.current().id, there.objectId);
  // Signed in here now: the SDK's own calls that need the user work with that token.
  await user.save({ nickname: 'Ivy 2' });
  await AV.User.logOut();
});

test('a user who signed up on LeanCloud after the export logs in with the password', async () => {
  const username = `amy_${suffix()}`;
  const there = await signUpUpstream({ username, password: 'pw-amy-1', level: 4 });
  await rejectsWith(() => AV.User.logIn(username, 'not-it'), 210, 'wrong password');
  const user = await AV.User.logIn(username, 'pw-amy-1');
  assert.equal(user.id, there.objectId);
  assert.equal(user.get('level'), 4);
  assert.notEqual(user.getSessionToken(), there.sessionToken, "a session of Phonebase's own");
  await AV.User.logOut();
  await rejectsWith(() => AV.User.logIn(`nobody_${suffix()}`, 'x'), 211, 'unknown here and there');
});
