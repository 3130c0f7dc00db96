#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target (fuzz/seeds/<target>/) from the examples of the
contracts (/work/shared/contracts) and the test suite. Run it again after changing it; the files it
writes are committed, so running the targets needs nothing but cargo."""
import base64, hashlib, json, os, shutil

ROOT = os.path.dirname(os.path.abspath(__file__))

def write(target, items):
    d = os.path.join(ROOT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, item in enumerate(items):
        data = item if isinstance(item, bytes) else item.encode()
        with open(os.path.join(d, f"seed-{i:02}"), "wb") as f:
            f.write(data)

# Phone numbers: the README's and src/core/phone.rs's examples, as text and as JSON bodies.
numbers = ["13800138000", "+8613800138000", "+86 138-0013-8000", "+447400123456", "+14155550100",
           "+225 07 12 34 56 78", "002250712345678", "+44 07400 123456", "+8601012345678", "+390312345678",
           "(415) 555-0100", "+8860912345678", "+79123456789", "+5491123456789", "abc13800138000", ""]
write("phone", numbers + [json.dumps({"mobilePhoneNumber": n}) for n in numbers[:6]]
      + ['{"mobilePhoneNumber": 13800138000}', '{"mobilePhoneNumber": null}', '{"mobilePhoneNumber": ["x"]}'])

# Old LeanCloud SDK text/plain bodies (tests/api/legacy_sdk.rs, contract 1.2).
app = {"_ApplicationId": "pbAppId0123456789abcdef", "_ClientVersion": "js0.5.4"}
write("legacy_body", [json.dumps(dict(app, **extra)) for extra in [
    {"_ApplicationKey": "key", "username": "old", "password": "pw-old", "nickname": "O"},
    {"_method": "GET", "_SessionToken": "token", "_ApplicationKey": "key"},
    {"_method": "PUT", "_SessionToken": "token", "nickname": "P"},
    {"_method": "GET", "username": "old", "password": "pw-old", "where": {"n": {"$gt": 1}}},
    {"_method": "PUT", "_MasterKey": "master", "nickname": "Q"},
    {"_method": "PATCH"},
    {"_method": "DELETE", "_SessionToken": "token"},
    {"_ApplicationKey": "key", "mobilePhoneNumber": "13800138000", "ttl": "5", "_InstallationId": "i"},
]] + ['{"_ApplicationId": 5}', 'null', '{"_ApplicationId": "a\\u0000b"}'])

# X-LC-Sign (contract 2.2's vectors): app key, master key, header index, value, ts, now, max age, master.
lc = ("UtOCzqb67d3sN12Kts4URwy8", "DyJegPlemooo4X1tg94gQkw1")
write("leancloud_signature", ["\n".join(x) for x in [
    [*lc, "5", "d5bcbb897e19b2f6633c716dfdfaf9be,1453014943466", "1453014943466", "1453014943466", "900", ""],
    [*lc, "5", "e074720658078c898aa0d4b1b82bdf4b,1453014943466,master", "1453014943466", "1453014943466", "900", "master"],
    [*lc, "0", "DyJegPlemooo4X1tg94gQkw1,master", "1453014943466", "1453015943466", "900", ""],
    [*lc, "3", "DyJegPlemooo4X1tg94gQkw1", "99999999999999999999", "-9223372036854775808", "1", "master"],
    [*lc, "6", "D5BCBB897E19B2F6633C716DFDFAF9BE,1453014943466,", "0", "9223372036854775807", "0", ""],
]])

# Bmob signed mode (src/http/bmob/auth.rs vectors, contract A.2): route, ts, code, nonce, version,
# now, window, presented, body.
body = '{"mobilePhoneNumber":"13800138000","template":"注册模板"}'
write("bmob_signature", ["\n".join(x) for x in [
    ["/1/requestSmsCode", "1712902737", "abc123", "k3J9xQ2mP0aZ7bYc", "10", "1712902737000", "10",
     "d82ce30c4bb802e3932c2b13fd74ae45", body],
    ["/1/login", "1712902737", "abc123", "k3J9xQ2mP0aZ7bYc", "10", "1712902737000", "10",
     "b753f3eafe55842f0b7175fc2a04792a", ""],
    ["/1/users", "1712902737500", "right-code", "n0nce0123456789a", "10", "1712902746500", "10", "", "{}"],
    ["/1/classes/%E7%94%A8%E6%88%B7", " 1712902737 ", "c", "n", "10", "0", "0", "X", "{}"],
    ["/1/verifySmsCode/123456", "99999999999999999", "c", "n", "10", "-1", "18446744073709551615", "", ""],
]])

# Twilio status callbacks (tests/api/delivery.rs, Twilio's docs).
write("twilio_signature", [
    "MessageSid=SM1&MessageStatus=delivered&AccountSid=AC123",
    "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003",
    "MessageSid=SM1&MessageStatus=sent",
    "SmsSid=SM2&SmsStatus=failed&ErrorCode=&RawDlrDoneDate=2611302202",
    "CallSid=CA1&CallStatus=no-answer",
    "CallSid=CA1&CallStatus=completed&To=%2B14155550100&From=%2B15005550006&Body=%E9%AA%8C%E8%AF%81%E7%A0%81+123456",
    "a=b&a=c&=&%ZZ",
])

# Aliyun and Tencent report pushes (src/delivery/aliyun.rs and tencent.rs tests, their docs).
write("delivery_reports", [
    '[{"phone_number":"13800138000","success":true,"biz_id":"932702304080415357^0","err_code":"DELIVERED","err_msg":"用户接收成功","send_time":"2017-05-24 13:09:59","report_time":"2017-05-24 13:10:02","sms_size":"1","out_id":"m1"}]',
    '[{"phone_number":"13800138001","success":false,"biz_id":"b2","err_code":"MK:0001"},{"nothing":1}]',
    '[{"MessageId":"1008030300","Status":1,"ErrorCode":"DELIVERED","To":"447400123456"},{"MessageId":"x","Status":2}]',
    '[{"user_receive_time":"2015-10-17 08:03:04","nationcode":"86","mobile":"13xxxxxxxxx","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"s1"},{"report_status":"FAIL","errmsg":"MI:0013","sid":"s2"},{"report_status":"SUCCESS"}]',
    '{}', '[]', '[1, "a", null, [], {"sid": 5}]',
])

# JPush Basic auth (contract B.1's curl -u, src/http/jpush/auth.rs tests).
pair = base64.b64encode(b"7d431e42dfa6a6d693ac2d04:5e987ac6d2e04d95a9d8f0d1").decode()
write("jpush_basic", [f"Basic {pair}", f"basic  {pair}", f"Bearer {pair}", "Basic !!!", "",
                      "Basic " + base64.b64encode(b"justakey").decode(), "Basic " + base64.b64encode(b"key:").decode(),
                      "Basic " + base64.b64encode("钥:秘:密".encode()).decode()])

# MinCloud Authorization (contract C.1, C.2): first byte even = Hydrogen-r1, odd = Bearer.
write("mincloud_auth", [b"\x00Hydrogen-r1 5f1d2c3b4a", b"\x00hydrogen-r1   abc ", b"\x01Bearer 0123456789abcdef",
                        b"\x01Bearer", b"\x01Bearer " + b"a" * 129, b"\x00Bearer abc", b"\x01bearer\tx y"])

# LeanCloud _User exports (tests/api/import.rs): first byte even = _User.jsonl, odd = _User.json.
def exported(i, username, phone, extra=None):
    salt = f"salt{i}"
    digest = base64.b64encode(hashlib.sha512((salt + "pw").encode()).digest()).decode()
    v = {"objectId": f"55a47496e4b05001a7732c{i:02x}", "username": username, "mobilePhoneNumber": phone,
         "mobilePhoneVerified": True, "emailVerified": False, "password": digest, "salt": salt,
         "createdAt": "2019-03-04T05:06:07.089Z", "updatedAt": "2024-01-02T03:04:05.678Z"}
    v.update(extra or {})
    return v
tom = exported(0x5f, "tom", "+8618612340000", {
    "email": "Tom@Example.com", "nickname": "T", "sessionToken": "tok",
    "birthday": {"__type": "Date", "iso": "1990-05-06T00:00:00.000Z"},
    "avatar": {"__type": "File", "id": "5f1", "name": "a.png", "url": "https://files.example.com/a.png"},
    "team": {"__type": "Pointer", "className": "Team", "objectId": "5f2"},
    "authData": {"weixin": {"openid": "o-1", "access_token": "t", "expires_in": 7200}}})
ann = {"objectId": "55a47496e4b05001a7732c60", "username": "ann",
       "bcryptPassword": "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
       "createdAt": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}, "updatedAt": "2020-01-01T00:00:00.000Z"}
header = '#filetype:JSON-streaming {"type":"Class","class":"_User"}\n'
lines = [json.dumps(tom, ensure_ascii=False), json.dumps(ann), json.dumps(exported(0x61, "bob", "12345")),
         '{"objectId": "broken"', json.dumps(exported(0x63, "eve", "+86 186 1234 0000"))]
write("import_leancloud", [
    b"\x00" + (header + "\n".join(lines) + "\n").encode(),
    b"\x01" + json.dumps({"results": [tom, ann], "cursor": "abc"}).encode(),
    b"\x01" + json.dumps([exported(6, "six", "13800138006")], indent=2).encode(),
    b"\x01\xef\xbb\xbf" + (header + lines[1] + "\n").encode(),
    b"\x00" + b'{"objectId":"a","createdAt":"x"}\n[1]\n"s"\n\n#c\n{"objectId":"b","createdAt":{"__type":"Date"}}',
])

# SMPP receipts (SMPP 3.4 Appendix B, src/delivery/smpp.rs tests).
write("smpp_receipt", [
    "id:0A1B2C sub:001 dlvrd:001 submit date:2611302201 done date:2611302202 stat:DELIVRD err:000 text:Your code",
    "ID:77 Stat:undeliv err:001", "stat:DELIVRD", "id:5 stat:DELIVRD text:id:6 stat:UNDELIV",
    "id:77 sub:001 dlvrd:000 stat:UNDELIV err:001 text:hi", "id:88 stat:ENROUTE", "id:\x00\x0099\x00 stat:expired",
    # A deliver_sm on the wire after its length: id 0x05, status 0, sequence 1, then the body.
    bytes.fromhex("00000005 00000000 00000001".replace(" ", "")) + b"\x00\x01\x01" + b"8613800138000\x00"
    + b"\x00\x00" + b"1065\x00" + bytes([0x04, 0, 0]) + b"\x00\x00\x00\x00\x00\x00"
    + bytes([26]) + b"id:77 stat:DELIVRD text:hi",
])
