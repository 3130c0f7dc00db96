"""Signs in everywhere the document has a security scheme and prints `export VAR=...` lines for
schemathesis.toml: the app's keys (LeanCloud, Bmob, JPush, MinCloud), a user's LeanCloud session
(Bmob reads the same sessions), a MinCloud login, an open-API access token and a console session.

    credentials.py URL APP_SHOW_JSON OPERATOR_PASSWORD
"""

import json
import random
import shlex
import sys
import urllib.request

url, show, operator_password = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]


def call(path, body, headers=None, want=(200, 201)):
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        if response.status not in want:
            sys.exit(f"{path}: {response.status}")
        return json.loads(response.read()), response.headers


# A number nobody else uses in this fresh database.
phone = "+86138%08d" % random.randrange(10**8)
user, _ = call(
    "/1.1/users",
    {"username": "fuzz-user", "password": "fuzz-pass-123", "mobilePhoneNumber": phone},
    {"X-LC-Id": show["appId"], "X-LC-Key": show["appKey"]},
)
mc_headers = {"X-Hydrogen-Client-ID": show["mincloud"]["clientId"]}
mc_phone = "+86139%08d" % random.randrange(10**8)
mc_user, _ = call("/hserve/v2.1/register/phone", {"phone": mc_phone, "password": "fuzz-pass-123"}, mc_headers)
client = {"client_id": show["mincloud"]["clientId"], "client_secret": show["mincloud"]["clientSecret"]}
code, _ = call("/api/oauth2/hydrogen/openapi/authorize", client)
token, _ = call("/api/oauth2/access_token", {**client, "grant_type": "authorization_code", "code": code["code"]})
console, headers = call("/console/api/session", {"username": "fuzzer", "password": operator_password})
cookie = headers["Set-Cookie"].split(";")[0].split("=", 1)[1]

values = {
    "PB_APP_ID": show["appId"],
    "PB_MASTER_KEY": show["masterKey"],
    "PB_SESSION": user["sessionToken"],
    "PB_BMOB_APP_ID": show["bmob"]["applicationId"],
    "PB_BMOB_REST_KEY": show["bmob"]["restApiKey"],
    "PB_BMOB_MASTER_KEY": show["bmob"]["masterKey"],
    "PB_JPUSH_APP_KEY": show["jpush"]["appKey"],
    "PB_JPUSH_MASTER_SECRET": show["jpush"]["masterSecret"],
    "PB_MINCLOUD_CLIENT_ID": show["mincloud"]["clientId"],
    "PB_MINCLOUD_TOKEN": mc_user["token"],
    "PB_MINCLOUD_ACCESS_TOKEN": token["access_token"],
    "PB_CONSOLE_SESSION": cookie,
    "PB_CONSOLE_CSRF": console["csrfToken"],
}
for name, value in values.items():
    print(f"export {name}={shlex.quote(str(value))}")
