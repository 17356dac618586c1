//! Article attachments over HTTP on a real server (127.0.0.1:0), on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: staff upload, and each file is listed and
//! downloaded under its article's audience check — a client never fetches a staff
//! article's file, an anonymous reader only a public article's.

use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common;

okno_store::on_both_backends!(article_files_follow_the_article_audience);

async fn article_files_follow_the_article_audience(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(files.path().to_path_buf());
    settings.attachment_limit = 1024;
    let desk = Desk::start(db.store.clone(), settings).await.unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "Альфа", None)
        .await
        .unwrap();
    let (_, manager) =
        common::user_with_token(&desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let (_, line1) =
        common::user_with_token(&desk, "l1@desk.test", Role::Specialist, None, &[1], None).await;
    let (_, client) =
        common::user_with_token(&desk, "a@alfa.test", Role::Client, Some(alfa), &[], None).await;
    let base = common::serve(desk.clone()).await;
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let upload = |path: &str, token: &str, name: &str, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str("text/plain")
                .unwrap(),
        );
        http.post(format!("{base}{path}"))
            .bearer_auth(token)
            .multipart(form)
            .send()
    };

    let mut ids = Vec::new();
    for (slug, audience) in [("vpn", "staff"), ("release", "client"), ("hours", "public")] {
        let r = http
            .post(format!("{base}/api/v1/kb/articles"))
            .bearer_auth(&manager)
            .json(
                &json!({"slug": slug, "title": slug, "body": "текст", "audience": audience,
                          "clients": [], "status": "published", "category": "c", "tags": []}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let [staff_article, client_article, public_article] = ids[..] else {
        unreachable!()
    };

    // Staff upload; the file's name loses its path.
    let mut urls = Vec::new();
    for id in &ids {
        let r = upload(
            &format!("/api/v1/kb/articles/{id}/attachments"),
            &line1,
            "../../secret/ключ.txt",
            format!("file of {id}").into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let out: Value = r.json().await.unwrap();
        assert_eq!(out["file_name"], "ключ.txt");
        assert_eq!(out["size"], format!("file of {id}").len());
        urls.push(out["url"].as_str().unwrap().to_owned());
    }
    // A client may not upload; too large a file and a form without a file are refused.
    let r = upload(
        &format!("/api/v1/kb/articles/{client_article}/attachments"),
        &client,
        "a.txt",
        b"x".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = upload(
        &format!("/api/v1/kb/articles/{client_article}/attachments"),
        &manager,
        "big.txt",
        vec![b'x'; 2048],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = http
        .post(format!(
            "{base}/api/v1/kb/articles/{client_article}/attachments"
        ))
        .bearer_auth(&manager)
        .multipart(reqwest::multipart::Form::new().text("note", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "note");

    // Who lists and downloads what: (article, staff, client, anonymous).
    let cases = [
        (staff_article, &urls[0], true, false, false),
        (client_article, &urls[1], true, true, false),
        (public_article, &urls[2], true, true, true),
    ];
    for (article, url, staff_reads, client_reads, anonymous_reads) in cases {
        for (token, allowed) in [
            (Some(line1.as_str()), staff_reads),
            (Some(client.as_str()), client_reads),
            (None, anonymous_reads),
        ] {
            let list = get(&format!("/api/v1/kb/articles/{article}/attachments"), token)
                .await
                .unwrap();
            let file = get(url, token).await.unwrap();
            if allowed {
                assert_eq!(list.status(), StatusCode::OK);
                assert_eq!(
                    list.json::<Value>()
                        .await
                        .unwrap()
                        .as_array()
                        .unwrap()
                        .len(),
                    1
                );
                assert_eq!(file.status(), StatusCode::OK);
                assert_eq!(
                    file.bytes().await.unwrap().as_ref(),
                    format!("file of {article}").as_bytes()
                );
            } else {
                // Exactly like a file that does not exist.
                assert_eq!(list.status(), StatusCode::NOT_FOUND, "{article} {token:?}");
                assert_eq!(file.status(), StatusCode::NOT_FOUND, "{article} {token:?}");
            }
        }
    }
    // A staff article's file under another article's path is not found either.
    let staff_file_id = urls[0].rsplit('/').next().unwrap();
    let r = get(
        &format!("/api/v1/kb/articles/{client_article}/attachments/{staff_file_id}"),
        Some(&client),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // By slug as well as by id.
    let r = get("/api/v1/kb/articles/vpn/attachments", Some(&client))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = get("/api/v1/kb/articles/hours/attachments", None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
