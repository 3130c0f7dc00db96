//! The old JavaScript SDK (0.x): every call is a `text/plain` POST whose JSON body carries the
//! method and the credentials (contract §1.2). Each `/1.1` route must accept it.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, send};

impl TestApp {
    /// A call as the old SDK makes it: no X-LC headers, everything in a text/plain body.
    async fn old_sdk(&self, path: &str, mut body: Value) -> (u16, Value) {
        body["_ApplicationId"] = self.app.id.clone().into();
        if body.get("_MasterKey").is_none() && body.get("_ApplicationKey").is_none() {
            body["_ApplicationKey"] = self.app.app_key.clone().into();
        }
        body["_ClientVersion"] = "js0.5.4".into();
        let request = self.client.post(self.url(path)).header("Content-Type", "text/plain").body(body.to_string());
        send(request).await
    }
}

#[tokio::test]
async fn text_plain_bodies_with_method_and_keys_work_on_every_route() {
    let db = TestDb::new();
    let app = TestApp::spawn(&db).await;

    let (status, user) =
        app.old_sdk("/1.1/users", json!({"username": "old", "password": "pw-old", "nickname": "O"})).await;
    assert_eq!(status, 201, "{user}");
    assert!(user.get("_ClientVersion").is_none() && user.get("_ApplicationId").is_none(), "{user}");
    let id = user["objectId"].as_str().unwrap().to_string();
    let token = user["sessionToken"].as_str().unwrap().to_string();

    let (status, me) = app.old_sdk("/1.1/users/me", json!({"_method": "GET", "_SessionToken": token})).await;
    assert_eq!((status, me["objectId"].as_str()), (200, Some(id.as_str())), "{me}");

    let path = format!("/1.1/users/{id}");
    let (status, body) = app.old_sdk(&path, json!({"_method": "PUT", "_SessionToken": token, "nickname": "P"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, read) = app.old_sdk(&path, json!({"_method": "GET"})).await;
    assert_eq!((status, read["nickname"].as_str()), (200, Some("P")), "{read}");
    assert!(read.get("_method").is_none() && read.get("_SessionToken").is_none(), "{read}");

    // Without a session only the master key may change a user.
    let (status, body) = app.old_sdk(&path, json!({"_method": "PUT", "nickname": "Q"})).await;
    assert_eq!((status, body["code"].as_i64()), (403, Some(206)), "{body}");
    let master = app.app.master_key.clone();
    let (status, body) = app.old_sdk(&path, json!({"_method": "PUT", "_MasterKey": master, "nickname": "Q"})).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = app.old_sdk("/1.1/login", json!({"username": "old", "password": "pw-old"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        app.old_sdk("/1.1/login", json!({"_method": "GET", "username": "old", "password": "pw-old"})).await;
    assert_eq!(status, 200, "a GET's parameters move to the query: {body}");

    let (status, body) = app.old_sdk("/1.1/users/me", json!({"_method": "GET", "_ApplicationKey": "wrong"})).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(401)), "{body}");
    let (status, body) = app.old_sdk("/1.1/users/me", json!({"_method": "PATCH"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(1)), "{body}");
    let (status, _) = app.old_sdk(&path, json!({"_method": "DELETE", "_SessionToken": token})).await;
    assert_eq!(status, 200);
    let (status, _) = app.old_sdk(&path, json!({"_method": "GET"})).await;
    assert_eq!(status, 400, "deleted");

    // A text/plain body without the old SDK's keys is an ordinary body, untouched.
    let (status, body) = send(
        app.post("/1.1/login")
            .header("Content-Type", "text/plain")
            .body(json!({"username": "nobody", "password": "x"}).to_string()),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(211)), "{body}");
}
