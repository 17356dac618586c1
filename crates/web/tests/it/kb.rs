//! The knowledge base over HTTP on a real server (127.0.0.1:0), on SQLite and (with
//! `OKNO_TEST_DATABASE_URL`) PostgreSQL: who reads which article through every endpoint and
//! page, sanitized Markdown, search that answers any bytes, and the desk's uses of articles
//! on tickets.

use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common;

okno_store::on_both_backends!(knowledge_base_over_http);

async fn knowledge_base_over_http(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk = Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
        .await
        .unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "Альфа", None)
        .await
        .unwrap();
    let beta = desk
        .store
        .create_client("BETA", "Бета", None)
        .await
        .unwrap();
    let (_, manager) =
        common::user_with_token(&desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let (_, line1) =
        common::user_with_token(&desk, "l1@desk.test", Role::Specialist, None, &[1], None).await;
    let (_, alfa_contact) =
        common::user_with_token(&desk, "a@alfa.test", Role::Client, Some(alfa), &[], None).await;
    let (_, beta_contact) =
        common::user_with_token(&desk, "b@beta.test", Role::Client, Some(beta), &[], None).await;
    let base = common::serve(desk.clone()).await;
    let http = reqwest::Client::new();
    let call = |method: Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut request = http.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let article = |slug: &str, title: &str, body: &str, audience: &str, clients: Vec<&str>| {
        json!({"slug": slug, "title": title, "body": body, "audience": audience,
               "clients": clients, "status": "published", "category": "Бухгалтерия",
               "tags": ["закрытие"]})
    };

    // Staff write; a client may not.
    let written = [
        article(
            "closing-month",
            "Ошибка закрытия месяца",
            "Если при закрытии месяца появляется ошибка, проверьте проводки.\n\n\
             <script>alert(1)</script> [x](javascript:alert(2)) <iframe src=\"https://evil\"></iframe>",
            "client",
            vec![],
        ),
        article(
            "vpn-alfa",
            "Доступ по VPN",
            "Шлюз vpn-gw, ключ у администратора.",
            "staff",
            vec![],
        ),
        article(
            "open-hours",
            "Часы работы поддержки",
            "Поддержка работает с 9 до 18.",
            "public",
            vec![],
        ),
        article(
            "alfa-release",
            "Выпуск для Альфы",
            "Файлы выпуска закрытия месяца для Альфы.",
            "client",
            vec!["ALFA"],
        ),
    ];
    let mut ids = Vec::new();
    for body in &written {
        let r = call(
            Method::POST,
            "/api/v1/kb/articles",
            Some(&manager),
            Some(body.clone()),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let out: Value = r.json().await.unwrap();
        ids.push(out["id"].as_i64().unwrap());
    }
    let r = call(
        Method::POST,
        "/api/v1/kb/articles",
        Some(&alfa_contact),
        Some(written[0].clone()),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A bad audience is a 4xx naming the field.
    let r = call(
        Method::POST,
        "/api/v1/kb/articles",
        Some(&manager),
        Some(article("bad", "Плохая", "x", "everyone", vec![])),
    )
    .await
    .unwrap();
    assert!(r.status().is_client_error());
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["field"], "audience", "{error}");
    desk.search_catch_up().await.unwrap();

    // Sanitized HTML beside the Markdown source.
    let r = call(
        Method::GET,
        "/api/v1/kb/articles/closing-month",
        Some(&alfa_contact),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let shown: Value = r.json().await.unwrap();
    let html = shown["html"].as_str().unwrap().to_lowercase();
    // Kept as text at most, never as a tag or a link.
    for bad in ["<script", "<iframe", "href=\"javascript:"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }

    // Who reads what, article by article: (slug, anonymous, alfa, beta, staff).
    let expected = [
        ("closing-month", false, true, true, true),
        ("vpn-alfa", false, false, false, true),
        ("open-hours", true, true, true, true),
        ("alfa-release", false, true, false, true),
    ];
    for (slug, anonymous, alfa_reads, beta_reads, staff_reads) in expected {
        for (who, token, allowed) in [
            ("anonymous", None, anonymous),
            ("alfa", Some(alfa_contact.as_str()), alfa_reads),
            ("beta", Some(beta_contact.as_str()), beta_reads),
            ("line 1", Some(line1.as_str()), staff_reads),
        ] {
            let api = call(
                Method::GET,
                &format!("/api/v1/kb/articles/{slug}"),
                token,
                None,
            )
            .await
            .unwrap()
            .status();
            let want = if allowed {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(api, want, "{who} reading {slug} through the API");
            if token.is_none() {
                let page = call(Method::GET, &format!("/kb/{slug}"), None, None)
                    .await
                    .unwrap()
                    .status();
                assert_eq!(page, want, "{who} reading the page /kb/{slug}");
            }
        }
    }

    // Lists and searches filter in the query: nobody finds what they may not read.
    let slugs = |v: &Value| -> Vec<String> {
        let mut s: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["slug"].as_str().unwrap().to_owned())
            .collect();
        s.sort();
        s
    };
    let listed = |token: Option<&str>| {
        let request = call(Method::GET, "/api/v1/kb/articles", token, None);
        async move { slugs(&request.await.unwrap().json::<Value>().await.unwrap()) }
    };
    // Shipped articles are there too; the ones written here tell who reads what.
    let mine = |list: Vec<String>| -> Vec<String> {
        list.into_iter()
            .filter(|s| expected.iter().any(|e| e.0 == s))
            .collect()
    };
    assert_eq!(mine(listed(None).await), ["open-hours"]);
    assert_eq!(
        mine(listed(Some(&alfa_contact)).await),
        ["alfa-release", "closing-month", "open-hours"]
    );
    assert_eq!(
        mine(listed(Some(&beta_contact)).await),
        ["closing-month", "open-hours"]
    );
    assert_eq!(mine(listed(Some(&line1)).await).len(), 4);
    // Morphology: "ошибки при закрытии месяца" finds "Ошибка закрытия месяца".
    let found = |token: Option<&str>, q: &str| {
        let request = call(
            Method::GET,
            &format!("/api/v1/kb/search?q={q}"),
            token,
            None,
        );
        async move {
            let r = request.await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            slugs(&r.json::<Value>().await.unwrap())
        }
    };
    let q = "%D0%BE%D1%88%D0%B8%D0%B1%D0%BA%D0%B8+%D0%BF%D1%80%D0%B8+%D0%B7%D0%B0%D0%BA%D1%80%D1%8B%D1%82%D0%B8%D0%B8+%D0%BC%D0%B5%D1%81%D1%8F%D1%86%D0%B0";
    assert!(
        found(Some(&beta_contact), q)
            .await
            .contains(&"closing-month".to_owned())
    );
    assert!(
        !found(Some(&beta_contact), q)
            .await
            .contains(&"alfa-release".to_owned())
    );
    assert!(
        found(Some(&alfa_contact), q)
            .await
            .contains(&"alfa-release".to_owned())
    );
    let anonymous = found(None, q).await;
    assert!(
        !anonymous.contains(&"closing-month".to_owned())
            && !anonymous.contains(&"alfa-release".to_owned()),
        "{anonymous:?}"
    );
    // "vpn" is in a staff article only.
    assert_eq!(found(Some(&line1), "vpn").await, ["vpn-alfa"]);
    assert!(found(Some(&alfa_contact), "vpn").await.is_empty());
    assert!(found(None, "vpn").await.is_empty());
    // Any bytes, any length: an answer, never an error.
    let junk = format!("%FF%C0{}%22%27%3C", "%E2%82".repeat(5_000));
    for q in [
        junk.as_str(),
        "",
        "%",
        "AND+OR+NOT+(((",
        "\"unterminated",
        "*",
    ] {
        found(Some(&line1), q).await;
        found(None, q).await;
    }
    let page = call(Method::GET, &format!("/kb?q={junk}"), None, None)
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    // A NUL is refused naming the parameter (PostgreSQL could not take it), page or API.
    let r = call(Method::GET, "/api/v1/kb/search?q=a%00b", None, None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "q");
    let page = call(Method::GET, "/kb?q=%00", None, None).await.unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // On a ticket: a client's ticket, answered with an article; the documentation task.
    let r = call(
        Method::POST,
        "/api/v1/tickets",
        Some(&alfa_contact),
        Some(
            json!({"service": "question", "subject": "Не закрывается месяц",
                    "description": "Ошибка при закрытии месяца"}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ticket: Value = r.json().await.unwrap();
    let number = ticket["number"].as_str().unwrap().to_owned();
    let r = call(
        Method::POST,
        &format!("/api/v1/tickets/{number}/answer-with-article"),
        Some(&line1),
        Some(json!({"article": ids[0], "note": "Посмотрите, пожалуйста."})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let comment: Value = r.json().await.unwrap();
    assert_eq!(comment["internal"], false, "{comment}");
    assert!(
        comment["body"]
            .as_str()
            .unwrap()
            .contains("/kb/closing-month"),
        "{comment}"
    );
    // A staff article cannot be the answer to a client.
    let r = call(
        Method::POST,
        &format!("/api/v1/tickets/{number}/answer-with-article"),
        Some(&line1),
        Some(json!({"article": ids[1]})),
    )
    .await
    .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    // The client sees the linked client article, never a staff one linked by staff.
    for id in [ids[0], ids[1]] {
        let r = call(
            Method::POST,
            &format!("/api/v1/tickets/{number}/articles"),
            Some(&line1),
            Some(json!({"article": id})),
        )
        .await
        .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let linked = |token: &str| {
        let request = call(
            Method::GET,
            &format!("/api/v1/tickets/{number}/articles"),
            Some(token),
            None,
        );
        async move { slugs(&request.await.unwrap().json::<Value>().await.unwrap()) }
    };
    assert_eq!(linked(&line1).await, ["closing-month", "vpn-alfa"]);
    assert_eq!(linked(&alfa_contact).await, ["closing-month"]);
    // Another client's contact learns nothing about the ticket.
    let r = call(
        Method::GET,
        &format!("/api/v1/tickets/{number}/articles"),
        Some(&beta_contact),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // "Update the documentation": a task for line 1, which a client may not ask for.
    let r = call(
        Method::POST,
        &format!("/api/v1/tickets/{number}/docs-task"),
        Some(&alfa_contact),
        Some(json!({"article": ids[0], "note": "x"})),
    )
    .await
    .unwrap();
    assert!(
        r.status() == StatusCode::FORBIDDEN || r.status() == StatusCode::NOT_FOUND,
        "{}",
        r.status()
    );
    let r = call(
        Method::POST,
        &format!("/api/v1/tickets/{number}/docs-task"),
        Some(&line1),
        Some(json!({"article": ids[0], "note": "Добавить шаг про проводки"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let task: Value = r.json().await.unwrap();
    assert_eq!(task["line"], 1, "{task}");

    // Ticket search: staff within what they may see, internal comments included; a client
    // only its own organization's tickets, and never an internal comment's words.
    let r = call(
        Method::POST,
        &format!("/api/v1/tickets/{number}/comments"),
        Some(&line1),
        Some(json!({"body": "Проверить регламентзадание на сервере", "internal": true})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    desk.search_catch_up().await.unwrap();
    let tickets_found = |token: &str, q: &str| {
        let request = call(
            Method::GET,
            &format!("/api/v1/search/tickets?q={q}"),
            Some(token),
            None,
        );
        async move {
            let r = request.await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let hits: Value = r.json().await.unwrap();
            hits.as_array()
                .unwrap()
                .iter()
                .map(|h| h["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let month = "%D0%BC%D0%B5%D1%81%D1%8F%D1%86";
    let internal_word = "%D1%80%D0%B5%D0%B3%D0%BB%D0%B0%D0%BC%D0%B5%D0%BD%D1%82%D0%B7%D0%B0%D0%B4%D0%B0%D0%BD%D0%B8%D0%B5";
    assert_eq!(
        tickets_found(&line1, month).await,
        std::slice::from_ref(&number)
    );
    assert_eq!(
        tickets_found(&line1, internal_word).await,
        std::slice::from_ref(&number)
    );
    assert_eq!(
        tickets_found(&alfa_contact, month).await,
        std::slice::from_ref(&number)
    );
    assert!(tickets_found(&alfa_contact, internal_word).await.is_empty());
    assert!(tickets_found(&beta_contact, month).await.is_empty());
    let r = call(Method::GET, "/api/v1/search/tickets?q=x", None, None)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
