// Runs a few SDK calls with its own AV.init (the SDK keeps one global configuration per process)
// and prints one JSON line with the results. Used by harness.mjs `isolated()`.
import AV from 'leancloud-storage';

const spec = JSON.parse(process.argv[2]);
const init = { appId: spec.appId, appKey: spec.appKey, serverURL: spec.serverURL };
if (spec.masterKey) init.masterKey = spec.masterKey;
AV.init(init);
if (spec.useMasterKey) AV.Cloud.useMasterKey();

const results = [];
for (const { fn, args = [] } of spec.calls) {
  try {
    const value = await AV.Cloud[fn](...args);
    results.push({ ok: true, value: value instanceof Date ? value.toISOString() : value });
  } catch (e) {
    results.push({ ok: false, code: e.code, message: e.message, rawMessage: e.rawMessage });
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
