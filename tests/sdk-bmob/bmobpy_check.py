"""The real bmobpy (PyPI, 1.10.1) against Phonebase: its SMS and user calls with plain headers
(X-Bmob-Application-Id + X-Bmob-REST-API-Key). Run by run.sh, which sets the environment."""

import json
import os
import re
import sys
import time

from bmobpy import Bmob

URL = os.environ["PHONEBASE_URL"]
SINK = os.environ["SINK_PATH"]
failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + (f"  ({detail})" if detail and not ok else ""))
    if not ok:
        failures.append(what)


def code_for(e164, n=1):
    for _ in range(100):
        try:
            with open(SINK, encoding="utf-8") as f:
                mine = [m for m in (json.loads(l) for l in f if l.strip()) if m.get("to") == e164]
        except FileNotFoundError:
            mine = []
        if len(mine) >= n:
            return re.search(r"\d{6}", mine[n - 1]["text"]).group(0)
        time.sleep(0.1)
    raise SystemExit(f"no message {n} for {e164}")


def client():
    b = Bmob(os.environ["BMOB_APPLICATION_ID"], os.environ["BMOB_REST_API_KEY"])
    b.resetDomain(URL)
    return b


base = 13600000000 + (int(time.time()) % 100000) * 10
phone = lambda i: str(base + i)
e164 = lambda i: "+86" + phone(i)

b = client()
now = b.getServerTime()
check("getServerTime", now is not None and abs(now.timestamp - time.time()) < 30, repr(now and now.jsonData))

# SMS: requestSMSCode (always sends "template": ""), verifySmsCode.
sent = b.requestSMSCode(phone(0))
check("requestSMSCode gives an integer smsId", sent is not None and isinstance(sent.smsId, int), repr(b.error))
code = code_for(e164(0))
check("verifySmsCode refuses a wrong code", b.verifySmsCode(phone(0), "000000") is False)
check("... with Bmob's code 207", b.error.get("code") == 207, repr(b.error))
check("verifySmsCode accepts the code", b.verifySmsCode(phone(0), code) is True, repr(b.error))
check("... once", b.verifySmsCode(phone(0), code) is False)
check("requestSMSCode again within the minute: 10010", b.requestSMSCode(phone(0)) is None and b.error.get("code") == 10010, repr(b.error))

# Users: signUp, login (username and password pasted into the query unencoded), checkSession.
username = f"py-{base}"
user = b.signUp(username, "py-pass-1")
check("signUp", user is not None and user.objectId and user.sessionToken, repr(b.error))
uid = user.objectId
check("login with a wrong password fails with 101", b.login(username, "wrong") is None and b.error.get("code") == 101, repr(b.error))
logged = b.login(username, "py-pass-1")
check("login", logged is not None and logged.objectId == uid, repr(b.error))
check("checkSession with the login's session", b.checkSession(uid) is True, repr(b.error))

# Bind a number to the user (PUT /1/classes/_User/<id> with the session), then the password calls.
updated = b.update("_User", uid, {"mobilePhoneNumber": phone(1)})
check("update _User with the session", updated is True, repr(b.error))
check("updatePassword with a wrong old password", b.updatePassword(uid, "nope", "py-pass-2") is False and b.error.get("code") == 210, repr(b.error))
check("updatePassword", b.updatePassword(uid, "py-pass-1", "py-pass-2") is True, repr(b.error))
check("the session survives its own password change", b.checkSession(uid) is True, repr(b.error))
check("login by phone with the new password", client().login(phone(1), "py-pass-2") is not None)

sent = b.requestSMSCode(phone(1))
check("requestSMSCode for the user's number", sent is not None, repr(b.error))
code = code_for(e164(1))
check("resetPasswordBySMSCode (code only)", b.resetPasswordBySMSCode(code, "py-pass-3") is True, repr(b.error))
check("a reset ends the sessions", b.checkSession(uid) is False)
check("login with the reset password", client().login(username, "py-pass-3") is not None)
check("the code is spent", b.resetPasswordBySMSCode(code, "py-pass-4") is False and b.error.get("code") == 207, repr(b.error))

print(f"bmobpy: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
