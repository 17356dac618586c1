//! Issue 19 over a real server: every workplace as every role in Russian and English shows
//! no untranslated key, no raw code and no Markdown marker; the language switch keeps the
//! query; a flash message follows each action; times show in the person's zone, named when
//! it is not the firm's; the queue tells tasks apart; the documented article search and
//! unknown API routes answer JSON; pages go compressed.

use okno_desk::tickets::TicketInput;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::sync::Arc;

use crate::common;

const PASSWORD: &str = "secret-pass";

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    ticket: Ticket,
    _dir: tempfile::TempDir,
}

struct Browser {
    cookie: String,
    csrf: String,
}

fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A firm with a client contact, a line-1 specialist, a manager and an admin, and one
/// ticket that went through classification (so its history has stages, tasks and a
/// classification) and waits for its answer.
async fn spawn() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = okno_store::open(dir.path().join("okno.db").to_str().unwrap())
        .await
        .unwrap();
    let desk = Desk::start(store, Settings::new(dir.path().to_path_buf()))
        .await
        .unwrap();
    let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "ООО «Альфа»", Some("alfa.test"))
        .await
        .unwrap();
    let mut people = Vec::new();
    for (email, role, client, lines) in [
        ("anna@alfa.test", Role::Client, Some(alfa), vec![]),
        ("lena@desk.test", Role::Specialist, None, vec![1, 2]),
        ("maria@desk.test", Role::Manager, None, vec![]),
        ("ivan@desk.test", Role::Admin, None, vec![]),
    ] {
        let id = desk
            .store
            .create_user(&okno_store::NewUser {
                email: Email::parse(email).unwrap(),
                name: "Тестовый Человек".into(),
                role,
                client_id: client,
                lines: lines.iter().map(|&n| Line::new(n).unwrap()).collect(),
                sees_organization: false,
                password_hash: Some(hash.clone()),
            })
            .await
            .unwrap();
        people.push(desk.store.user(id).await.unwrap().unwrap());
    }
    let ticket = desk
        .open_ticket(
            &people[0],
            TicketInput {
                service: "question".into(),
                subject: "Не печатается счёт".into(),
                description: "Кнопка «Печать» ничего не делает".into(),
                client: None,
                requester: None,
                draft: false,
            },
        )
        .await
        .unwrap();
    let classify = desk.store.tasks(ticket.id).await.unwrap()[0].id;
    desk.complete_task(&people[1], classify, "question", Some("Вопрос по печати"))
        .await
        .unwrap();
    let base = common::serve(desk.clone()).await;
    let mut headers = HeaderMap::new();
    headers.insert(header::ORIGIN, base.parse().unwrap());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    App {
        base,
        http,
        desk,
        ticket,
        _dir: dir,
    }
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn login(&self, email: &str) -> Browser {
        let form = self.http.get(self.url("/login")).send().await.unwrap();
        let login_cookie = set_cookie(form.headers(), "okno_login").unwrap();
        let html = form.text().await.unwrap();
        let response = self
            .http
            .post(self.url("/login"))
            .header(header::COOKIE, login_cookie.split(';').next().unwrap())
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf", &hidden(&html, "csrf")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email}");
        let session = set_cookie(response.headers(), "okno_session").unwrap();
        let cookie = session.split(';').next().unwrap().to_owned();
        let home = self
            .http
            .get(self.url("/"))
            .header(header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        let csrf = hidden(&home.text().await.unwrap(), "csrf");
        Browser { cookie, csrf }
    }

    async fn get(&self, who: &Browser, path: &str, extra_cookie: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header(header::COOKIE, format!("{}{extra_cookie}", who.cookie))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, who: &Browser, path: &str) -> (StatusCode, String) {
        let response = self.get(who, path, "").await;
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, who: &Browser, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(header::COOKIE, &who.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn open_task(&self) -> i64 {
        self.desk
            .store
            .tasks(self.ticket.id)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.state == TaskState::Open)
            .expect("an open task")
            .id
            .0
    }
}

/// The text a person reads: tags, scripts and styles gone, entities as they show. Text in
/// `<code>` is an identifier shown on purpose (a service's code on the admin pages).
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        out.push(' ');
        let tail = &rest[start..];
        let skip_to = ["<script", "<style", "<code"]
            .iter()
            .find(|open| tail.starts_with(**open))
            .and_then(|open| tail.find(&format!("</{}", &open[1..])));
        let from = skip_to.unwrap_or(0);
        rest = match tail[from..].find('>') {
            Some(end) => &tail[from + end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&#171;", "«")
        .replace("&#187;", "»")
}

/// What no page may show: an untranslated key, a code in `snake_case`, a Markdown marker,
/// and in Russian no bare lowercase Latin word (a code such as `question` or `stage`).
fn raw_bits(text: &str, lang: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(at) = text.find('⟦') {
        found.push(text[at..].chars().take(40).collect());
    }
    for marker in ["**", "__", "```", "](", "&lt;strong", "&lt;em"] {
        if text.contains(marker) {
            found.push(marker.to_owned());
        }
    }
    for token in text.split(|c: char| c.is_whitespace() || "()[]{},;:«»\"'·—–/|!?".contains(c))
    {
        let token = token.trim_matches(|c: char| c == '.' || c == '…');
        if token.contains(['@', '.']) || token.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        let code_like = token.contains('_')
            && token.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && token.len() > 2;
        let latin_word =
            lang == "ru" && token.len() >= 3 && token.chars().all(|c| c.is_ascii_lowercase());
        if code_like || latin_word {
            found.push(token.to_owned());
        }
    }
    found.sort();
    found.dedup();
    found
}

#[tokio::test]
async fn no_page_shows_a_raw_code_or_markdown_in_either_language() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let lena = app.login("lena@desk.test").await;
    let maria = app.login("maria@desk.test").await;
    let ivan = app.login("ivan@desk.test").await;
    let ticket = format!("/tickets/{}", app.ticket.number());
    let task = format!("/tasks/{}", app.open_task().await);
    let mut pages: Vec<(&Browser, String)> = vec![
        (&anna, "/".into()),
        (&anna, ticket.clone()),
        (&anna, "/tickets/new?service=question".into()),
        (&anna, "/profile".into()),
        (&anna, "/kb".into()),
        (&anna, "/search?q=счёт".into()),
    ];
    for staff in [&lena, &maria, &ivan] {
        for path in [
            "/",
            "/desk",
            "/profile",
            "/kb",
            "/planning",
            "/search?q=счёт",
        ] {
            pages.push((staff, path.into()));
        }
        pages.push((staff, ticket.clone()));
        pages.push((staff, task.clone()));
    }
    for manager in [&maria, &ivan] {
        pages.push((manager, "/manager".into()));
    }
    for path in [
        "/admin",
        "/admin/users",
        "/admin/clients",
        "/admin/contracts",
        "/admin/workflows",
        "/admin/calendars",
        "/admin/skills",
    ] {
        pages.push((&ivan, path.into()));
    }
    let mut problems = Vec::new();
    for lang in ["ru", "en"] {
        for (who, path) in &pages {
            let sep = if path.contains('?') { '&' } else { '?' };
            let (status, html) = app.page(who, &format!("{path}{sep}lang={lang}")).await;
            assert_eq!(status, StatusCode::OK, "{path} in {lang}");
            let raw = raw_bits(&visible_text(&html), lang);
            if !raw.is_empty() {
                problems.push(format!("{path} in {lang}: {raw:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The check itself bites.
    assert_eq!(raw_bits("Статус: question", "ru"), ["question"]);
    assert_eq!(
        raw_bits("Task: task_taken **bold**", "en"),
        ["**", "task_taken"]
    );
}

#[tokio::test]
async fn the_task_page_speaks_the_viewers_language_and_renders_instructions() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let task = format!("/tasks/{}", app.open_task().await);
    let (_, en) = app.page(&lena, &format!("{task}?lang=en")).await;
    let (_, ru) = app.page(&lena, &format!("{task}?lang=ru")).await;
    // The answer stage's outcomes as words, the instructions as HTML, not `**`.
    assert!(en.contains(">Reclassify</option>"), "{en}");
    assert!(ru.contains(">Переклассифицировать</option>"), "{ru}");
    assert!(!ru.contains(">reclassify<"));
    assert!(en.contains("<strong>") && !en.contains("**"));
    // Every line is offered for a transfer, the vendor's (4) too.
    assert!(ru.contains("<option value=\"4\">"), "{ru}");
    // History in words: the classification and the completed task.
    let ticket = format!("/tickets/{}", app.ticket.number());
    let (_, history) = app.page(&lena, &format!("{ticket}?lang=ru")).await;
    assert!(history.contains("Классификация: вопрос"), "{history}");
    assert!(history.contains("Задача выполнена: Вопрос"), "{history}");
    let (_, history) = app.page(&lena, &format!("{ticket}?lang=en")).await;
    assert!(history.contains("Classified as: question"), "{history}");
}

#[tokio::test]
async fn the_language_switch_keeps_the_path_and_the_query() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let (status, html) = app.page(&lena, "/?status=in_progress&lang=ru").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("href=\"/?status=in_progress&#38;lang=en\""),
        "{html}"
    );
    let (status, _) = app.page(&lena, "/?status=in_progress&lang=en").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn each_action_says_what_it_did_once() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let id = app.open_task().await;
    let taken = app
        .post(&lena, &format!("/tasks/{id}/take"), &[("csrf", &lena.csrf)])
        .await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    let flash = set_cookie(taken.headers(), "flash").expect("a flash cookie");
    let flash = flash.split(';').next().unwrap();
    let shown = app
        .get(
            &lena,
            &format!("/tasks/{id}?lang=ru"),
            &format!("; {flash}"),
        )
        .await;
    // Shown once: the page clears the cookie.
    let cleared = set_cookie(shown.headers(), "flash").expect("the flash is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let html = shown.text().await.unwrap();
    assert!(html.contains("Задача взята в работу."), "{html}");
    let (_, again) = app.page(&lena, &format!("/tasks/{id}?lang=ru")).await;
    assert!(!again.contains("id=\"flash\""));
    // A forged cookie naming another message shows nothing.
    let forged = app
        .get(&lena, "/desk?lang=ru", "; flash=nav-logout")
        .await
        .text()
        .await
        .unwrap();
    assert!(!forged.contains("id=\"flash\""));
    // A reply says it was sent.
    let ticket = format!("/tickets/{}", app.ticket.number());
    let replied = app
        .post(
            &lena,
            &format!("{ticket}/comments"),
            &[("csrf", &lena.csrf), ("body", "Ответ клиенту")],
        )
        .await;
    assert_eq!(replied.status(), StatusCode::SEE_OTHER);
    let flash = set_cookie(replied.headers(), "flash").unwrap();
    assert!(flash.starts_with("flash=flash-reply-sent"), "{flash}");
}

#[tokio::test]
async fn times_show_in_the_persons_zone_named_when_not_the_firms() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let ticket = format!("/tickets/{}?lang=ru", app.ticket.number());
    // The firm's zone: no mark.
    let (_, moscow) = app.page(&lena, &ticket).await;
    assert!(!moscow.contains("UTC+"), "{moscow}");
    // The browser's zone (sent by the page's script as a cookie): marked.
    let html = app
        .get(&lena, &ticket, "; tz=Asia/Novosibirsk")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("UTC+7"), "{html}");
    // The profile's zone wins over the browser's; a wrong name is refused in place.
    let bad = app
        .post(
            &lena,
            "/profile",
            &[("csrf", &lena.csrf), ("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("Mars/Olympus"));
    let saved = app
        .post(
            &lena,
            "/profile",
            &[("csrf", &lena.csrf), ("time_zone", "Asia/Vladivostok")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let html = app
        .get(&lena, &ticket, "; tz=Asia/Novosibirsk")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("UTC+10") && !html.contains("UTC+7"), "{html}");
    // Back to the default.
    app.post(
        &lena,
        "/profile",
        &[("csrf", &lena.csrf), ("time_zone", "")],
    )
    .await;
    let (_, html) = app.page(&lena, &ticket).await;
    assert!(!html.contains("UTC+10"));
}

#[tokio::test]
async fn a_client_sees_times_in_its_calendars_zone() {
    let app = spawn().await;
    let alfa = app
        .desk
        .store
        .client_by_code("ALFA")
        .await
        .unwrap()
        .unwrap();
    app.desk
        .store
        .set_client_calendar(alfa.id, Some("nsk-standard"))
        .await
        .unwrap();
    let anna = app.login("anna@alfa.test").await;
    let (_, html) = app
        .page(&anna, &format!("/tickets/{}?lang=ru", app.ticket.number()))
        .await;
    assert!(html.contains("UTC+7"), "{html}");
}

#[tokio::test]
async fn the_queue_names_client_subject_and_deadline() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let (_, html) = app.page(&lena, "/desk?lang=ru").await;
    assert!(
        html.contains("class=\"queue-subject\">Не печатается счёт<"),
        "{html}"
    );
    assert!(html.contains("ООО «Альфа» (ALFA)") || html.contains("ООО &#171;Альфа&#187; (ALFA)"));
}

#[tokio::test]
async fn the_documented_article_search_and_unknown_api_routes_answer_json() {
    let app = spawn().await;
    let found = app
        .http
        .get(app.url("/api/v1/articles?q=поддержка"))
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), StatusCode::OK);
    let body: serde_json::Value = found.json().await.unwrap();
    assert!(body.is_array(), "{body}");
    let unknown = app
        .http
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn pages_and_assets_go_compressed() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let mut total = 0;
    for path in [
        "/desk",
        "/static/okno.css",
        "/static/okno.js",
        "/static/htmx.min.js",
    ] {
        let response = app
            .http
            .get(app.url(path))
            .header(header::COOKIE, &lena.cookie)
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_ENCODING],
            "gzip",
            "{path}"
        );
        total += response.bytes().await.unwrap().len();
    }
    assert!(total < 40 * 1024, "a first load sends {total} bytes");
}
