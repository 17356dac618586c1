//! The server-rendered pages over a real server on 127.0.0.1:0 and a temporary SQLite desk:
//! login and sessions, visibility, escaping, CSRF, language and plurals.

use jiff::Timestamp;
use okno_desk::calendars::Section;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::{NewTask, NewUser};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::sync::Arc;

use crate::common;

const PASSWORD: &str = "secret-pass";
const XSS: &str = "<script>alert(1)</script>";
const INTERNAL_NOTE: &str = "Internal note: client runs an old release";
const TASK_TITLE: &str = "Classify the request";

struct App {
    base: String,
    http: reqwest::Client,
    desk: Arc<Desk>,
    alfa_ticket: Ticket,
    beta_ticket: Ticket,
    alfa_contact: UserId,
    _dir: tempfile::TempDir,
}

/// A logged-in browser: its session cookie and the session's CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn spawn() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = okno_store::open(dir.path().join("okno.db").to_str().unwrap())
        .await
        .unwrap();
    spawn_on(store, dir).await
}

/// The app over `store` (either backend), its files in `dir`.
async fn spawn_on(store: Arc<dyn okno_store::Store>, dir: tempfile::TempDir) -> App {
    let desk = Desk::start(store, Settings::new(dir.path().to_path_buf()))
        .await
        .unwrap();
    let store = &desk.store;
    let alfa = store
        .create_client("ALFA", "ООО «Альфа»", Some("alfa.test"))
        .await
        .unwrap();
    let beta = store
        .create_client("BETA", "АО «Бета»", Some("beta.test"))
        .await
        .unwrap();
    let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
    let person = |email: &str, name: &str, role: Role, client: Option<ClientId>| NewUser {
        email: Email::parse(email).unwrap(),
        name: name.into(),
        role,
        client_id: client,
        lines: if role == Role::Specialist {
            vec![Line::new(1).unwrap()]
        } else {
            vec![]
        },
        sees_organization: false,
        password_hash: Some(hash.clone()),
    };
    let alfa_contact = store
        .create_user(&person(
            "anna@alfa.test",
            "Анна Альфина",
            Role::Client,
            Some(alfa),
        ))
        .await
        .unwrap();
    let beta_contact = store
        .create_user(&person(
            "boris@beta.test",
            "Борис Бетов",
            Role::Client,
            Some(beta),
        ))
        .await
        .unwrap();
    let line1 = store
        .create_user(&person(
            "lena@desk.test",
            "Лена Первова",
            Role::Specialist,
            None,
        ))
        .await
        .unwrap();
    let now = Timestamp::now();
    let ticket = |client, requester, subject: &str| NewTicket {
        service: "question".into(),
        subject: subject.into(),
        description: "Описание вопроса".into(),
        client_id: client,
        requester_id: requester,
        draft: false,
    };
    let task = NewTask {
        kind: "classify".into(),
        title: TASK_TITLE.into(),
        line: Some(Line::new(1).unwrap()),
        pool: Some("line1".into()),
        assignee_id: None,
        due_at: None,
        priority: 5,
        stage: None,
    };
    let alfa_ticket = store
        .create_ticket(&ticket(alfa, alfa_contact, XSS), &[task], now)
        .await
        .unwrap();
    let beta_ticket = store
        .create_ticket(
            &ticket(beta, beta_contact, "Вопрос компании Бета"),
            &[],
            now,
        )
        .await
        .unwrap();
    for (body, internal) in [("Посмотрим и ответим", false), (INTERNAL_NOTE, true)]
    {
        let comment = NewComment {
            ticket_id: alfa_ticket.id,
            author_id: line1,
            body: body.into(),
            internal,
        };
        store.add_comment(&comment, now).await.unwrap();
    }

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
        alfa_ticket,
        beta_ticket,
        alfa_contact,
        _dir: dir,
    }
}

/// The value of a `name="…" value="…"` hidden field.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The first `Set-Cookie` for `name`, whole.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    pair.split_once('=').unwrap().1.to_owned()
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Saves a draft of the documents service from the form; returns its page's path.
    async fn save_draft(&self, browser: &Browser, subject: &str) -> String {
        let created = self
            .post(
                browser,
                "/tickets",
                &[
                    ("csrf", &browser.csrf),
                    ("service", "documents"),
                    ("subject", subject),
                    ("draft", "1"),
                ],
            )
            .await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER);
        created.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Opens the login form and posts it; returns the response.
    async fn post_login(&self, email: &str, password: &str) -> reqwest::Response {
        let form = self.http.get(self.url("/login")).send().await.unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let login_cookie = set_cookie(form.headers(), "okno_login").expect("login cookie");
        let html = form.text().await.unwrap();
        self.http
            .post(self.url("/login"))
            .header(header::COOKIE, login_cookie.split(';').next().unwrap())
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf", &hidden(&html, "csrf")),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn login(&self, email: &str) -> Browser {
        let response = self.post_login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/");
        let cookie = cookie_value(&set_cookie(response.headers(), "okno_session").unwrap());
        let home = self.get(&cookie, "/").await;
        let csrf = hidden(&home.text().await.unwrap(), "csrf");
        Browser { cookie, csrf }
    }

    async fn get(&self, cookie: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header(header::COOKIE, format!("okno_session={cookie}"))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, browser: &Browser, path: &str) -> (StatusCode, String) {
        let response = self.get(&browser.cookie, path).await;
        (response.status(), response.text().await.unwrap())
    }

    async fn post(
        &self,
        browser: &Browser,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(header::COOKIE, format!("okno_session={}", browser.cookie))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn login_sets_a_strict_cookie_with_a_new_id_each_time() {
    let app = spawn().await;
    let response = app.post_login("anna@alfa.test", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(response.headers(), "okno_session").unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http gets no Secure flag: {cookie}"
    );
    let first = app.login("anna@alfa.test").await;
    let second = app.login("anna@alfa.test").await;
    assert_ne!(first.cookie, second.cookie);
    assert_ne!(cookie_value(&cookie), first.cookie);
    let (status, html) = app.page(&first, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Анна Альфина"));
    assert!(html.contains("клиент"));
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure() {
    let app = spawn().await;
    let form = app.http.get(app.url("/login")).send().await.unwrap();
    let login_cookie = set_cookie(form.headers(), "okno_login").unwrap();
    let token = hidden(&form.text().await.unwrap(), "csrf");
    let response = app
        .http
        .post(app.url("/login"))
        .header(header::COOKIE, login_cookie.split(';').next().unwrap())
        .header("x-forwarded-proto", "https")
        .form(&[
            ("email", "anna@alfa.test"),
            ("password", PASSWORD),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    let cookie = set_cookie(response.headers(), "okno_session").unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_401() {
    let app = spawn().await;
    let response = app.post_login("anna@alfa.test", "wrong").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(response.headers(), "okno_session").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("Неверная почта или пароль"));
    assert!(
        html.contains("value=\"anna@alfa.test\""),
        "the email is kept"
    );
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_login() {
    let app = spawn().await;
    // Back to the page after logging in (issue 8).
    for (path, login) in [
        ("/", "/login"),
        ("/tickets/1", "/login?next=/tickets/1"),
        (
            "/tickets/new?service=question",
            "/login?next=/tickets/new%3Fservice%3Dquestion",
        ),
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[header::LOCATION], login, "{path}");
    }
    let response = app.get("not-a-session", "/").await;
    assert_eq!(response.headers()[header::LOCATION], "/login");
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn().await;
    let browser = app.login("anna@alfa.test").await;
    let response = app
        .post(&browser, "/logout", &[("csrf", &browser.csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login");
    let cleared = set_cookie(response.headers(), "okno_session").unwrap();
    assert!(cookie_value(&cleared).is_empty(), "{cleared}");
    // The old cookie, replayed, opens nothing.
    let response = app.get(&browser.cookie, "/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login");
    assert!(app.desk.session(&browser.cookie).await.unwrap().is_none());
}

#[tokio::test]
async fn a_client_sees_only_its_organization() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let (status, home) = app.page(&anna, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains(&app.alfa_ticket.number().to_string()));
    assert!(!home.contains(&app.beta_ticket.number().to_string()));
    assert!(!home.contains("Вопрос компании Бета"));
    assert!(home.contains("Показан 1 тикет"));
    // One click per service to a new ticket.
    assert!(home.contains("href=\"/tickets/new?service=question\""));

    let beta_path = format!("/tickets/{}", app.beta_ticket.number());
    let (status, html) = app.page(&anna, &beta_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (missing, missing_html) = app.page(&anna, "/tickets/OK-999999").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert_eq!(
        html.replace(&app.beta_ticket.number().to_string(), "N"),
        missing_html.replace("OK-999999", "N"),
        "someone else's ticket looks like no ticket"
    );
    assert!(!html.contains("Вопрос компании Бета"));

    let (status, ticket) = app
        .page(&anna, &format!("/tickets/{}", app.alfa_ticket.number()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(ticket.contains("Посмотрим и ответим"));
    assert!(!ticket.contains(INTERNAL_NOTE));
    assert!(!ticket.contains(TASK_TITLE));
    assert!(!ticket.contains("id=\"tasks\""));
    assert!(
        !ticket.contains("name=\"internal\""),
        "no internal checkbox for clients"
    );
}

#[tokio::test]
async fn staff_see_internal_comments_marked_and_tasks() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let (_, home) = app.page(&lena, "/").await;
    assert!(home.contains(&app.beta_ticket.number().to_string()));
    assert!(home.contains(&app.alfa_ticket.number().to_string()));
    let (status, ticket) = app
        .page(&lena, &format!("/tickets/{}", app.alfa_ticket.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    let note = ticket.find(INTERNAL_NOTE).expect("internal note shown");
    let item = ticket[..note].rfind("<li").unwrap();
    assert!(ticket[item..note].contains("comment internal"));
    assert!(ticket[item..note].contains("Внутренний"));
    assert!(ticket.contains(TASK_TITLE));
    assert!(ticket.contains("name=\"internal\""));
}

#[tokio::test]
async fn output_is_escaped() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    for path in ["/".to_owned(), format!("/tickets/{}", app.alfa_ticket.id)] {
        let (_, html) = app.page(&anna, &path).await;
        assert!(!html.contains(XSS), "{path}");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn posts_need_the_session_token_and_this_origin() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let path = format!("/tickets/{}/comments", app.alfa_ticket.id);
    let without = app.post(&anna, &path, &[("body", "hello")]).await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert!(without.text().await.unwrap().contains("Форма устарела"));
    let wrong = app
        .post(&anna, &path, &[("body", "hello"), ("csrf", "0123")])
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let other = app.login("lena@desk.test").await;
    let foreign = app
        .post(&anna, &path, &[("body", "hello"), ("csrf", &other.csrf)])
        .await;
    assert_eq!(
        foreign.status(),
        StatusCode::FORBIDDEN,
        "a token of another session"
    );
    let cross_site = app
        .http
        .post(app.url(&path))
        .header(header::COOKIE, format!("okno_session={}", anna.cookie))
        .header(header::ORIGIN, "http://evil.example")
        .form(&[("body", "hello"), ("csrf", anna.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let logout = app.post(&anna, "/logout", &[]).await;
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    assert!(app.desk.session(&anna.cookie).await.unwrap().is_some());

    let ok = app
        .post(&anna, &path, &[("body", "hello"), ("csrf", &anna.csrf)])
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let (_, ticket) = app
        .page(&anna, &format!("/tickets/{}", app.alfa_ticket.id))
        .await;
    assert!(ticket.contains("hello"));
}

#[tokio::test]
async fn a_client_cannot_post_internal_comments() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let path = format!("/tickets/{}/comments", app.alfa_ticket.id);
    let response = app
        .post(
            &anna,
            &path,
            &[("body", "sneaky"), ("internal", "1"), ("csrf", &anna.csrf)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let comments = app
        .desk
        .store
        .comments(app.alfa_ticket.id, true)
        .await
        .unwrap();
    assert!(comments.iter().all(|c| c.body != "sneaky"));
}

#[tokio::test]
async fn new_ticket_errors_keep_the_input_and_success_opens_the_ticket() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let (status, form) = app.page(&anna, "/tickets/new?service=question").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"service\" value=\"question\""));
    let (status, _) = app.page(&anna, "/tickets/new?service=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let invalid = app
        .post(
            &anna,
            "/tickets",
            &[
                ("csrf", &anna.csrf),
                ("service", "question"),
                ("subject", "  "),
                ("description", "Текст <b>жирный</b>"),
            ],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = invalid.text().await.unwrap();
    assert!(html.contains("Заполните это поле"));
    assert!(
        html.contains("Текст &#60;b&#62;жирный&#60;/b&#62;") || html.contains("Текст &lt;b&gt;")
    );

    let created = app
        .post(
            &anna,
            "/tickets",
            &[
                ("csrf", &anna.csrf),
                ("service", "question"),
                ("subject", "Не открывается отчёт"),
                ("description", "С утра"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(location.starts_with("/tickets/OK-"), "{location}");
    let (status, ticket) = app.page(&anna, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ticket.contains("Не открывается отчёт"));
    assert!(ticket.contains("class=\"badge badge-") && !ticket.contains("badge-draft"));
}

#[tokio::test]
async fn drafts_are_saved_and_sent_later() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let location = app.save_draft(&anna, "Акт сверки").await;
    let (_, draft) = app.page(&anna, &location).await;
    assert!(draft.contains("badge-draft"));
    let sent = app
        .post(
            &anna,
            &format!("{location}/submit"),
            &[("csrf", &anna.csrf)],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, ticket) = app.page(&anna, &location).await;
    assert!(!ticket.contains("badge-draft"), "{ticket}");
    assert!(
        !ticket.contains("/submit\""),
        "sent drafts have no send button"
    );
}

#[tokio::test]
async fn english_is_one_switch_away_and_remembered() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let response = app.get(&anna.cookie, "/?lang=en").await;
    let remembered = set_cookie(response.headers(), "lang").expect("lang cookie");
    assert!(remembered.starts_with("lang=en"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("My tickets"));
    assert!(html.contains("Log out"));
    assert!(html.contains("Showing 1 ticket"));
    assert!(!html.contains("Мои обращения"));
    // The cookie keeps the choice; Accept-Language is the default without it.
    let response = app
        .http
        .get(app.url("/login"))
        .header(header::COOKIE, "lang=en")
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("Sign in to Okno"));
    let response = app
        .http
        .get(app.url("/login"))
        .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("Sign in to Okno"));
    let response = app.http.get(app.url("/login")).send().await.unwrap();
    assert!(response.text().await.unwrap().contains("Вход в Okno"));
}

#[tokio::test]
async fn russian_plurals_render_on_the_page() {
    use okno_web::pages::i18n::Lang;
    for (n, form) in [
        (1, "1 тикет"),
        (2, "2 тикета"),
        (5, "5 тикетов"),
        (11, "11 тикетов"),
        (21, "21 тикет"),
    ] {
        assert_eq!(Lang::Ru.count("tickets-count", n), form);
    }
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let path = format!("/tickets/{}", app.alfa_ticket.id);
    let mut posted = 1; // the public reply seeded above
    for (n, form) in [
        (2, "2 сообщения"),
        (5, "5 сообщений"),
        (11, "11 сообщений"),
        (21, "21 сообщение"),
    ] {
        while posted < n {
            let comment = NewComment {
                ticket_id: app.alfa_ticket.id,
                author_id: app.alfa_contact,
                body: format!("сообщение {posted}"),
                internal: false,
            };
            app.desk
                .store
                .add_comment(&comment, Timestamp::now())
                .await
                .unwrap();
            posted += 1;
        }
        let (_, html) = app.page(&anna, &path).await;
        assert!(html.contains(form), "{form}");
    }
}

#[tokio::test]
async fn attachments_upload_and_download_with_the_session() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let path = format!("/tickets/{}", app.alfa_ticket.number());
    let form = reqwest::multipart::Form::new()
        .text("csrf", anna.csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"log line".to_vec())
                .file_name("error.log")
                .mime_str("text/plain")
                .unwrap(),
        );
    let response = app
        .http
        .post(app.url(&format!("{path}/attachments")))
        .header(header::COOKIE, format!("okno_session={}", anna.cookie))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.page(&anna, &path).await;
    assert!(html.contains("error.log"));
    let start = html.find("/api/v1/tickets/").unwrap();
    let href = &html[start..start + html[start..].find('"').unwrap()];
    let file = app.get(&anna.cookie, href).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"log line");
}

// ---- Workplaces (issue 8) ----

impl App {
    /// A manager with the test password.
    async fn manager(&self) -> Browser {
        let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
        self.desk
            .store
            .create_user(&NewUser {
                email: Email::parse("maria@desk.test").unwrap(),
                name: "Мария Руководова".into(),
                role: Role::Manager,
                client_id: None,
                lines: vec![],
                sees_organization: false,
                password_hash: Some(hash),
            })
            .await
            .unwrap();
        self.login("maria@desk.test").await
    }

    async fn first_task(&self) -> i64 {
        self.desk.store.tasks(self.alfa_ticket.id).await.unwrap()[0]
            .id
            .0
    }
}

#[tokio::test]
async fn every_workplace_renders_in_russian_and_english_without_a_missing_key() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let lena = app.login("lena@desk.test").await;
    let maria = app.manager().await;
    let ticket = format!("/tickets/{}", app.alfa_ticket.number());
    let task = format!("/tasks/{}", app.first_task().await);
    let pages = [
        (&anna, "/".to_owned()),
        (&anna, ticket.clone()),
        (&anna, "/tickets/new?service=question".to_owned()),
        (&lena, "/".to_owned()),
        (&lena, "/desk".to_owned()),
        (&lena, task.clone()),
        (&lena, ticket.clone()),
        (&maria, "/manager".to_owned()),
        (&maria, "/desk".to_owned()),
    ];
    for lang in ["ru", "en"] {
        for (who, path) in &pages {
            let sep = if path.contains('?') { '&' } else { '?' };
            let (status, html) = app.page(who, &format!("{path}{sep}lang={lang}")).await;
            assert_eq!(status, StatusCode::OK, "{path} in {lang}");
            assert!(
                !html.contains('⟦'),
                "{path} in {lang} shows an untranslated key: {}",
                &html[html.find('⟦').unwrap()..][..60.min(html.len() - html.find('⟦').unwrap())]
            );
            assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{path}");
            assert!(html.len() < 300 * 1024, "{path} is {} bytes", html.len());
        }
    }
    let (_, desk) = app.page(&lena, "/desk?lang=ru").await;
    assert!(desk.contains("Мой стол") && desk.contains(TASK_TITLE));
    assert!(desk.contains("queue-item priority-low top") || desk.contains(" top"));
    let (_, manager) = app.page(&maria, "/manager?lang=en").await;
    assert!(manager.contains("Whose side is the ball") && manager.contains("Waiting on us"));
}

/// The daily review waits in the manager's workplace, reads in the manager's language, is
/// the managers' alone, and stops waiting once a manager has gone through it.
#[tokio::test]
async fn the_daily_review_waits_for_a_manager_until_gone_through() {
    use okno_domain::review::{ReviewItem, ReviewSnapshot};
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let maria = app.manager().await;
    let snapshot = ReviewSnapshot {
        ours_total: 3,
        theirs_total: 0,
        items: vec![ReviewItem {
            ticket: app.alfa_ticket.id,
            client_code: "ALFA".into(),
            subject: XSS.into(),
            status: TicketStatus::InProgress,
            next_step_at_ms: Some(app.desk.now().as_millisecond()),
        }],
    };
    let review = app
        .desk
        .store
        .create_daily_review(
            "2026-12-07",
            "manager",
            &snapshot.to_stored(),
            app.desk.now(),
        )
        .await
        .unwrap()
        .unwrap();
    let href = format!("/manager/reviews/{}", review.id);
    for path in ["/manager?lang=en", "/desk?lang=en"] {
        let (_, html) = app.page(&maria, path).await;
        assert!(
            html.contains(&href) && html.contains("The daily review for 2026-12-07 is waiting"),
            "{path}"
        );
    }
    let (_, desk) = app.page(&lena, "/desk").await;
    assert!(
        !desk.contains(&href),
        "a specialist is not shown the review"
    );
    let (status, _) = app.page(&lena, &href).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, html) = app.page(&maria, &format!("{href}?lang=en")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The ball is on our side"), "{html}");
    assert!(html.contains(&app.alfa_ticket.number().to_string()));
    assert!(
        html.contains("In progress"),
        "the status is translated: {html}"
    );
    assert!(!html.contains(XSS), "the subject is escaped");
    assert!(html.contains("and 2 more tickets"), "{html}");
    let (_, html) = app.page(&maria, &format!("{href}?lang=ru")).await;
    assert!(html.contains("Мяч на нашей стороне") && html.contains("и ещё 2 тикета"));
    assert!(!html.contains('⟦'), "no untranslated key");

    // Without the form's token nothing happens; with it the review is done.
    let response = app
        .post(&maria, &format!("{href}/done"), &[("csrf", "forged")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .post(&lena, &format!("{href}/done"), &[("csrf", &lena.csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .post(&maria, &format!("{href}/done"), &[("csrf", &maria.csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, manager) = app.page(&maria, "/manager?lang=en").await;
    assert!(
        !manager.contains("is waiting"),
        "a done review waits no more"
    );
    let (_, html) = app.page(&maria, &format!("{href}?lang=en")).await;
    assert!(html.contains("Gone through:") && !html.contains("/done\""));
    let (_, list) = app.page(&maria, "/manager/reviews?lang=en").await;
    assert!(list.contains(&href) && list.contains("Daily reviews"));
}

#[tokio::test]
async fn clients_and_specialists_stay_out_of_what_is_not_theirs() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let lena = app.login("lena@desk.test").await;
    let task = format!("/tasks/{}", app.first_task().await);
    let desk = app.get(&anna.cookie, "/desk").await;
    assert_eq!(desk.status(), StatusCode::SEE_OTHER);
    assert_eq!(desk.headers()[header::LOCATION], "/");
    let (status, html) = app.page(&anna, &task).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains(TASK_TITLE));
    assert_eq!(app.page(&anna, "/manager").await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.page(&lena, "/manager").await.0, StatusCode::FORBIDDEN);
    let announce = app
        .post(
            &lena,
            "/announcements",
            &[("csrf", &lena.csrf), ("title", "x"), ("body", "y")],
        )
        .await;
    assert_eq!(announce.status(), StatusCode::FORBIDDEN);
    // A client cannot take or complete a task either.
    let take = app
        .post(&anna, &format!("{task}/take"), &[("csrf", &anna.csrf)])
        .await;
    assert_eq!(take.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_specialist_takes_and_transfers_a_task_from_the_desk() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let id = app.first_task().await;
    let taken = app
        .post(&lena, &format!("/tasks/{id}/take"), &[("csrf", &lena.csrf)])
        .await;
    assert_eq!(taken.status(), StatusCode::SEE_OTHER);
    let task = app.desk.store.task(TaskId(id)).await.unwrap().unwrap();
    assert!(task.assignee_id.is_some());
    // A transfer without a reason says so in place.
    let (status, html) = {
        let r = app
            .post(
                &lena,
                &format!("/tasks/{id}/transfer"),
                &[("csrf", &lena.csrf), ("line", "2"), ("reason", " ")],
            )
            .await;
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Заполните это поле"));
    let moved = app
        .post(
            &lena,
            &format!("/tasks/{id}/transfer"),
            &[
                ("csrf", &lena.csrf),
                ("line", "2"),
                ("reason", "Нужна вторая линия"),
            ],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let task = app.desk.store.task(TaskId(id)).await.unwrap().unwrap();
    assert_eq!(task.line.map(|l| l.get()), Some(2));
    // Line 2 reads the reason on the task, and the ticket's history says it.
    let (_, page) = app.page(&lena, &format!("/tasks/{id}")).await;
    assert!(page.contains("Нужна вторая линия"), "{page}");
    assert!(!page.contains("Первая линия не оставила итога"));
    let (_, ticket) = app
        .page(
            &lena,
            &format!("/tickets/{}", TicketNumber(task.ticket_id.0)),
        )
        .await;
    assert!(
        ticket.contains("Передано на линию 2") && ticket.contains("Нужна вторая линия"),
        "{ticket}"
    );
}

#[tokio::test]
async fn a_double_submit_opens_one_ticket() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let (_, form) = app.page(&anna, "/tickets/new?service=question").await;
    let nonce = hidden(&form, "nonce");
    assert_eq!(nonce.len(), 64);
    let fields = [
        ("csrf", anna.csrf.as_str()),
        ("service", "question"),
        ("subject", "Двойной клик"),
        ("description", "Отправлено дважды"),
        ("nonce", nonce.as_str()),
    ];
    let (first, second) = tokio::join!(
        app.post(&anna, "/tickets", &fields),
        app.post(&anna, "/tickets", &fields)
    );
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        first.headers()[header::LOCATION],
        second.headers()[header::LOCATION]
    );
    let (_, list) = app.page(&anna, "/").await;
    assert_eq!(list.matches("Двойной клик").count(), 1);
}

#[tokio::test]
async fn an_expired_session_returns_to_the_page_after_login() {
    let app = spawn().await;
    let response = app.http.get(app.url("/desk")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/login?next=/desk");
    let hx = app
        .http
        .get(app.url("/desk/queue"))
        .header("hx-request", "true")
        .header("hx-current-url", app.url("/desk"))
        .send()
        .await
        .unwrap();
    assert_eq!(hx.headers()["hx-redirect"], "/login?next=/desk");

    for (next, expected) in [
        ("/desk", "/desk"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
    ] {
        let form = app
            .http
            .get(app.url(&format!("/login?next={next}")))
            .send()
            .await
            .unwrap();
        let login_cookie = set_cookie(form.headers(), "okno_login").unwrap();
        let html = form.text().await.unwrap();
        assert_eq!(hidden(&html, "next"), expected);
        let posted = app
            .http
            .post(app.url("/login"))
            .header(header::COOKIE, login_cookie.split(';').next().unwrap())
            .form(&[
                ("email", "lena@desk.test"),
                ("password", PASSWORD),
                ("csrf", &hidden(&html, "csrf")),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::SEE_OTHER);
        assert_eq!(posted.headers()[header::LOCATION], expected, "next={next}");
    }
}

#[tokio::test]
async fn announcements_reach_only_the_chosen_clients() {
    let app = spawn().await;
    let maria = app.manager().await;
    let empty = app
        .post(
            &maria,
            "/announcements",
            &[("csrf", &maria.csrf), ("title", " "), ("body", "Текст")],
        )
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().await.unwrap().contains("Заполните это поле"));
    let posted = app
        .post(
            &maria,
            "/announcements",
            &[
                ("csrf", &maria.csrf),
                ("title", "Плановые работы в субботу"),
                ("body", "Сервер будет недоступен с 10 до 12."),
                ("clients", "BETA"),
            ],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let boris = app.login("boris@beta.test").await;
    let anna = app.login("anna@alfa.test").await;
    assert!(
        app.page(&boris, "/")
            .await
            .1
            .contains("Плановые работы в субботу")
    );
    assert!(
        !app.page(&anna, "/")
            .await
            .1
            .contains("Плановые работы в субботу")
    );
}

#[tokio::test]
async fn the_header_and_the_desks_message_make_one_promise() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let contact = app
        .desk
        .store
        .user(app.alfa_contact)
        .await
        .unwrap()
        .unwrap();
    let ticket = app
        .desk
        .open_ticket(
            &contact,
            okno_desk::tickets::TicketInput {
                service: "question".into(),
                subject: "Отчёт".into(),
                description: "Не строится".into(),
                client: None,
                draft: false,
                requester: None,
            },
        )
        .await
        .unwrap();
    // The client's own message asks for a reply; the promise made stays the one.
    app.desk
        .comment(&contact, ticket.id, "Дополнение", false)
        .await
        .unwrap();
    let promise = app
        .desk
        .promise_text(ticket.id, "ru")
        .await
        .unwrap()
        .expect("an open ticket promises its next step");
    let (_, html) = app
        .page(&anna, &format!("/tickets/{}", ticket.number()))
        .await;
    assert!(
        html.contains(&format!("Мы ответим до {promise}.")),
        "{html}"
    );
    let said = app.desk.store.comments(ticket.id, false).await.unwrap();
    assert!(
        said.iter()
            .filter(|c| c.author_id.is_none())
            .any(|c| c.body.contains(&format!("до {promise}."))),
        "the header and the desk's message name the same instant: {said:?}"
    );
}

#[tokio::test]
async fn an_open_ticket_cannot_be_rated_and_shows_the_promise() {
    let app = spawn().await;
    let anna = app.login("anna@alfa.test").await;
    let href = format!("/tickets/{}", app.alfa_ticket.number());
    let (_, html) = app.page(&anna, &href).await;
    assert!(!html.contains("rating-form"));
    let rated = app
        .post(
            &anna,
            &format!("{href}/rating"),
            &[("csrf", &anna.csrf), ("score", "5")],
        )
        .await;
    assert_eq!(rated.status(), StatusCode::CONFLICT);
    assert!(
        app.desk
            .store
            .rating(app.alfa_ticket.id)
            .await
            .unwrap()
            .is_none()
    );
}

// ---- The manager's figure lists and the admin pages (issue 8): both backends ----

okno_store::on_both_backends!(
    dashboard_figures_count_what_their_lists_show,
    admin_edits_a_workflow_with_errors_in_place,
    admin_edits_calendars_and_levels_with_errors_in_place,
    admin_keeps_clients_contracts_users_and_skills,
    a_saved_draft_is_changed_and_sent_by_its_author_only,
);

impl App {
    /// An admin with the test password.
    async fn admin(&self) -> Browser {
        let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
        self.desk
            .store
            .create_user(&NewUser {
                email: Email::parse("root@desk.test").unwrap(),
                name: "Администратор".into(),
                role: Role::Admin,
                client_id: None,
                lines: vec![],
                sees_organization: false,
                password_hash: Some(hash),
            })
            .await
            .unwrap();
        self.login("root@desk.test").await
    }

    /// Applies one route change made of `steps` (and a next-step date) to the ticket.
    async fn change(
        &self,
        ticket: TicketId,
        steps: Vec<okno_store::ChangeStep>,
        next_step_at: Option<Option<Timestamp>>,
    ) {
        let route = self
            .desk
            .store
            .routed_ticket(ticket)
            .await
            .unwrap()
            .unwrap()
            .route;
        let change = okno_store::TicketChange {
            actor: None,
            at: Timestamp::now(),
            from_route: route.clone(),
            route,
            complete: None,
            steps,
            next_step_at,
            rank: None,
        };
        let changed = self.desk.store.apply_change(ticket, &change).await.unwrap();
        assert!(changed.is_some(), "the change applies");
    }
}

/// `&amp;` and friends back to text, for hrefs read out of a page.
fn unescape(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
}

/// Every `(href, value)` of the dashboard's figure tiles.
fn figure_links(html: &str) -> Vec<(String, String)> {
    html.split("<a class=\"figure")
        .skip(1)
        .map(|tile| {
            let href = tile
                .split("href=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = tile
                .split("<span class=\"figure-value\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap();
            (unescape(href), value.to_owned())
        })
        .collect()
}

/// The rows of a figure list page.
fn list_rows(html: &str) -> usize {
    html.matches("<td><a href=\"").count()
}

async fn dashboard_figures_count_what_their_lists_show(db: okno_store::testing::TestDb) {
    use okno_store::ChangeStep;
    let app = spawn_on(db.store.clone(), tempfile::tempdir().unwrap()).await;
    let store = &app.desk.store;
    let now = Timestamp::now();
    let alfa = app.alfa_ticket.client_id;
    let ticket = |subject: &str, draft: bool| NewTicket {
        service: "question".into(),
        subject: subject.into(),
        description: "Описание".into(),
        client_id: alfa,
        requester_id: app.alfa_contact,
        draft,
    };
    // Besides the two new tickets of the set-up: one in each other status, and a draft.
    let mut made = Vec::new();
    for subject in ["В работе", "Ждём клиента", "Решено, ошибка", "Закрыто"]
    {
        made.push(
            store
                .create_ticket(&ticket(subject, false), &[], now)
                .await
                .unwrap(),
        );
    }
    let draft = store
        .create_ticket(&ticket("Черновик", true), &[], now)
        .await
        .unwrap();
    let status = |s| vec![ChangeStep::SetStatus(s)];
    app.change(made[0].id, status(TicketStatus::InProgress), None)
        .await;
    app.change(made[1].id, status(TicketStatus::WaitingClient), None)
        .await;
    let mut bug = status(TicketStatus::Resolved);
    bug.push(ChangeStep::SetClassification(Classification::Bug));
    app.change(made[2].id, bug, None).await;
    app.change(made[3].id, status(TicketStatus::Closed), None)
        .await;
    // ALFA's first ticket missed its promised next step; a line 3 task is overdue since
    // yesterday and a line 1 task is due today.
    let past = now - jiff::SignedDuration::from_hours(1);
    let task = |line: u8, due: Timestamp| NewTask {
        kind: format!("work{line}"),
        title: format!("Задача линии {line}"),
        line: Some(Line::new(line).unwrap()),
        pool: None,
        assignee_id: None,
        due_at: Some(due),
        priority: 50,
        stage: None,
    };
    app.change(
        app.alfa_ticket.id,
        vec![
            ChangeStep::CreateTask(task(3, now - jiff::SignedDuration::from_hours(30)), None),
            ChangeStep::CreateTask(task(1, now), None),
        ],
        Some(Some(past)),
    )
    .await;
    // The draft is sent: it counts from now, on our side.
    store
        .submit_draft(draft.id, app.alfa_contact, &[], now)
        .await
        .unwrap();

    let maria = app.manager().await;
    let (status, html) = app.page(&maria, "/manager?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    let figures = figure_links(&html);
    assert_eq!(figures.len(), 6, "{figures:?}");
    let value = |href: &str| {
        figures
            .iter()
            .find(|(h, _)| h == href)
            .unwrap_or_else(|| panic!("no figure links to {href}: {figures:?}"))
            .1
            .clone()
    };
    // new: ALFA's, BETA's and the sent draft; in progress: one.
    assert_eq!(value("/manager/tickets?list=ours"), "4");
    assert_eq!(value("/manager/tickets?list=overdue"), "1");
    assert_eq!(value("/manager/tickets?list=bugs"), "1");
    assert_eq!(value("/manager/tasks?list=development"), "1");
    assert!(value("/manager/tasks?list=today").ends_with("/ 1"));
    // Each figure counts exactly the rows of the list it links to.
    for (href, value) in &figures {
        let (status, list) = app.page(&maria, href).await;
        assert_eq!(status, StatusCode::OK, "{href}");
        let counted: usize = value.rsplit(' ').next().unwrap().parse().unwrap();
        assert_eq!(list_rows(&list), counted, "{href} shows {value}");
    }
    // The board's totals link to their lists too: ours 4, theirs 2 (waiting, resolved).
    for (list, total) in [("ours", 4), ("theirs", 2)] {
        let href = format!("/manager/tickets?list={list}");
        assert!(html.contains(&format!("<a href=\"{href}\">")), "{list}");
        let (_, page) = app.page(&maria, &href).await;
        assert_eq!(list_rows(&page), total, "{list}");
    }
    let (_, theirs) = app.page(&maria, "/manager/tickets?list=theirs").await;
    assert!(theirs.contains("Ждём клиента") && theirs.contains("Решено, ошибка"));
    assert!(!theirs.contains("Закрыто"));
    // Today's bar of the new-tickets chart lists the six tickets created today (the draft
    // counts from when it was sent; the closed one was created today too).
    let bar = html
        .split("href=\"")
        .map(|h| unescape(h.split('"').next().unwrap()))
        .filter(|h| h.starts_with("/manager/tickets?list=created"))
        .last()
        .expect("a bar for today");
    let (_, created) = app.page(&maria, &bar).await;
    assert_eq!(list_rows(&created), 7, "{bar}");
    assert!(html.contains("<title>") && html.contains(": 7</title>"));
    // Only managers read the lists; an unknown list is not found.
    let lena = app.login("lena@desk.test").await;
    assert_eq!(
        app.page(&lena, "/manager/tickets?list=ours").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.page(&maria, "/manager/tickets?list=everything").await.0,
        StatusCode::NOT_FOUND
    );
    for lang in ["ru", "en"] {
        for (href, _) in &figures {
            let (_, page) = app.page(&maria, &format!("{href}&lang={lang}")).await;
            assert!(!page.contains('⟦'), "{href} in {lang}");
        }
    }
}

async fn admin_edits_a_workflow_with_errors_in_place(db: okno_store::testing::TestDb) {
    let app = spawn_on(db.store.clone(), tempfile::tempdir().unwrap()).await;
    let root = app.admin().await;
    let (status, html) = app.page(&root, "/admin/workflows/question").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("code = &quot;question&quot;") || html.contains("code = &#34;question&#34;")
    );
    let (admin, _) = app
        .desk
        .store
        .user_by_email(&Email::parse("root@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    let source = app
        .desk
        .workflow_source(&admin, "question")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(source.version, 1);

    // A new version with an unknown status: refused, shown at its line, typed text kept.
    let broken = source
        .text
        .replacen("version = 1", "version = 2", 1)
        .replacen("status = \"new\"", "status = \"bogus\"", 1);
    let line = broken
        .lines()
        .position(|l| l.contains("\"bogus\""))
        .unwrap()
        + 1;
    let refused = app
        .post(
            &root,
            "/admin/workflows/question",
            &[("csrf", &root.csrf), ("text", &broken)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(&format!("<li id=\"line-{line}\" class=\"bad\">")),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"#line-{line}\"")));
    assert!(html.contains("bogus"));
    assert_eq!(app.desk.catalog().latest("question").unwrap().version, 1);

    // Without the session's token nothing is published.
    let fixed = source.text.replacen("version = 1", "version = 2", 1);
    let forged = app
        .post(
            &root,
            "/admin/workflows/question",
            &[("csrf", "forged"), ("text", &fixed)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.desk.catalog().latest("question").unwrap().version, 1);

    let saved = app
        .post(
            &root,
            "/admin/workflows/question",
            &[("csrf", &root.csrf), ("text", &fixed)],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.headers()[header::LOCATION],
        "/admin/workflows/question?saved=2"
    );
    assert_eq!(app.desk.catalog().latest("question").unwrap().version, 2);
    let (_, html) = app.page(&root, "/admin/workflows/question?saved=2").await;
    assert!(html.contains("id=\"saved\"") && html.contains("version = 2"));

    // Managers and specialists do not edit workflows.
    let maria = app.manager().await;
    assert_eq!(
        app.page(&maria, "/admin/workflows/question").await.0,
        StatusCode::FORBIDDEN
    );
    let posted = app
        .post(
            &maria,
            "/admin/workflows/question",
            &[("csrf", &maria.csrf), ("text", &fixed)],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::FORBIDDEN);
}

async fn admin_edits_calendars_and_levels_with_errors_in_place(db: okno_store::testing::TestDb) {
    let app = spawn_on(db.store.clone(), tempfile::tempdir().unwrap()).await;
    let root = app.admin().await;
    let (_, list) = app.page(&root, "/admin/calendars").await;
    assert!(
        list.contains("href=\"/admin/calendars/ru-standard\""),
        "{list}"
    );
    assert!(list.contains("href=\"/admin/calendars/holidays-ru\""));
    assert!(list.contains("href=\"/admin/support-levels/standard\""));
    for path in [
        "/admin/calendars/ru-standard",
        "/admin/calendars/holidays-ru",
        "/admin/support-levels/premium",
    ] {
        for lang in ["ru", "en"] {
            let (status, html) = app.page(&root, &format!("{path}?lang={lang}")).await;
            assert_eq!(status, StatusCode::OK, "{path} in {lang}");
            assert!(!html.contains('⟦'), "{path} in {lang} misses a key");
        }
    }
    assert_eq!(
        app.page(&root, "/admin/calendars/nowhere").await.0,
        StatusCode::NOT_FOUND
    );
    let (admin, _) = app
        .desk
        .store
        .user_by_email(&Email::parse("root@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    let file = |section, name| app.desk.sla_file(&admin, section, name).unwrap().text;
    let text = file(Section::SupportLevels, "standard");
    let (_, html) = app.page(&root, "/admin/support-levels/standard").await;
    assert!(html.contains("[classifications.critical]"), "{html}");
    assert!(text.contains("critical"), "{text}");

    // A bad norm: refused, shown at its line, the typed text kept, nothing changed.
    let broken = text.replacen("reaction = \"1h\"", "reaction = \"soon\"", 1);
    assert_ne!(broken, text);
    let line = broken.lines().position(|l| l.contains("\"soon\"")).unwrap() + 1;
    let refused = app
        .post(
            &root,
            "/admin/support-levels/standard",
            &[("csrf", &root.csrf), ("text", &broken)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(&format!("<li id=\"line-{line}\" class=\"bad\">")),
        "{html}"
    );
    assert!(html.contains("soon") && html.contains("id=\"problems\""));
    let critical = |desk: &okno_desk::Desk| {
        let level = desk.sla().level("standard").unwrap();
        let (_, norms) = level
            .classifications
            .iter()
            .find(|(c, _)| c.code() == "critical")
            .unwrap();
        norms.reaction
    };
    assert_eq!(critical(&app.desk), Some(60));

    // Without the session's token nothing is saved; a manager may not save either.
    let fixed = text.replacen("reaction = \"1h\"", "reaction = \"30m\"", 1);
    let forged = app
        .post(
            &root,
            "/admin/support-levels/standard",
            &[("csrf", "forged"), ("text", &fixed)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let maria = app.manager().await;
    let posted = app
        .post(
            &maria,
            "/admin/support-levels/standard",
            &[("csrf", &maria.csrf), ("text", &fixed)],
        )
        .await;
    assert_eq!(posted.status(), StatusCode::FORBIDDEN);
    assert_eq!(critical(&app.desk), Some(60));

    let saved = app
        .post(
            &root,
            "/admin/support-levels/standard",
            &[("csrf", &root.csrf), ("text", &fixed)],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.headers()[header::LOCATION],
        "/admin/support-levels/standard?saved=2"
    );
    assert_eq!(critical(&app.desk), Some(30));
    let (_, html) = app
        .page(&root, "/admin/support-levels/standard?saved=2")
        .await;
    assert!(html.contains("id=\"saved\"") && html.contains("30m"));
    let (_, list) = app.page(&root, "/admin/calendars").await;
    assert!(list.contains("30 мин"), "the overview shows the new norm");

    // A calendar whose level would lose it: the error names the other file, above the form.
    let calendar = file(Section::Calendars, "ru-standard");
    let renamed = calendar.replacen("code = \"ru-standard\"", "code = \"ru-x\"", 1);
    let refused = app
        .post(
            &root,
            "/admin/calendars/ru-standard",
            &[("csrf", &root.csrf), ("text", &renamed)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("support-levels/standard.toml:"), "{html}");

    // The API: the same files, read and published by an admin only.
    let token = app.desk.create_token(&admin).await.unwrap();
    let api = |path: &str| app.http.get(app.url(path)).bearer_auth(&token);
    let listed: serde_json::Value = api("/api/v1/calendars")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert!(
        kinds.contains(&("holidays-ru", "holidays"))
            && kinds.contains(&("ru-standard", "calendar"))
    );
    let level: serde_json::Value = api("/api/v1/support-levels/standard")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(level["version"], 2);
    assert_eq!(level["code"], "standard");
    let put = |body: String| {
        app.http
            .put(app.url("/api/v1/support-levels/standard"))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "application/toml")
            .body(body)
            .send()
    };
    let refused = put(broken.clone()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["field"], "support_level");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("standard.toml:{line}:"))
    );
    let published = put(text.clone()).await.unwrap();
    assert_eq!(published.status(), StatusCode::CREATED);
    let body: serde_json::Value = published.json().await.unwrap();
    assert_eq!(body["version"], 3);
    assert_eq!(critical(&app.desk), Some(60));
    let (manager, _) = app
        .desk
        .store
        .user_by_email(&Email::parse("maria@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    let manager_token = app.desk.create_token(&manager).await.unwrap();
    // The team reads the configuration (okno_domain::policy); only an admin publishes it.
    let read = app
        .http
        .get(app.url("/api/v1/support-levels"))
        .bearer_auth(&manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let forbidden = app
        .http
        .put(app.url("/api/v1/support-levels/standard"))
        .bearer_auth(&manager_token)
        .header(header::CONTENT_TYPE, "application/toml")
        .body(text.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let doc: serde_json::Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/calendars",
        "/api/v1/calendars/{name}",
        "/api/v1/support-levels",
        "/api/v1/support-levels/{name}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

async fn admin_keeps_clients_contracts_users_and_skills(db: okno_store::testing::TestDb) {
    let app = spawn_on(db.store.clone(), tempfile::tempdir().unwrap()).await;
    let root = app.admin().await;

    // Every admin page renders in both languages without a missing key.
    for path in [
        "/admin",
        "/admin/workflows",
        "/admin/calendars",
        "/admin/clients",
        "/admin/clients/new",
        "/admin/clients/ALFA",
        "/admin/contracts",
        "/admin/contracts/new",
        "/admin/users",
        "/admin/skills",
    ] {
        for lang in ["ru", "en"] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let (status, html) = app.page(&root, &format!("{path}{sep}lang={lang}")).await;
            assert_eq!(status, StatusCode::OK, "{path} in {lang}");
            assert!(!html.contains('⟦'), "{path} in {lang} misses a key");
        }
    }
    let (_, calendars) = app.page(&root, "/admin/calendars").await;
    assert!(calendars.contains("ru-standard") && calendars.contains("01.01.2026"));

    // Clients: an empty name is refused next to the field, the code typed is kept.
    let refused = app
        .post(
            &root,
            "/admin/clients",
            &[("csrf", &root.csrf), ("code", "GAMMA"), ("name", " ")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"name-error\"") && html.contains("Заполните это поле"));
    assert!(html.contains("value=\"GAMMA\""));
    let taken = app
        .post(
            &root,
            "/admin/clients",
            &[
                ("csrf", &root.csrf),
                ("code", "ALFA"),
                ("name", "Другая Альфа"),
            ],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.text().await.unwrap().contains("id=\"code-error\""));
    let created = app
        .post(
            &root,
            "/admin/clients",
            &[
                ("csrf", &root.csrf),
                ("code", "GAMMA"),
                ("name", "ООО «Гамма»"),
                ("time_zone", "Asia/Novosibirsk"),
                ("vip", "1"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let gamma = app
        .desk
        .store
        .client_by_code("GAMMA")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gamma.name, "ООО «Гамма»");
    assert!(
        app.page(&root, "/admin/clients")
            .await
            .1
            .contains("ООО «Гамма»")
    );

    // Contracts: a period ending before it starts is refused at its field, typed values kept.
    let contract = |ends_on: &'static str| {
        vec![
            ("csrf", root.csrf.as_str()),
            ("number", "Д-7/2026"),
            ("client", "GAMMA"),
            ("starts_on", "2026-01-01"),
            ("ends_on", ends_on),
            ("tariff", "15000"),
            ("tickets_per_month", "20"),
            ("limit_reaction", "accept_and_flag"),
        ]
    };
    let refused = app
        .post(&root, "/admin/contracts/new", &contract("2025-12-31"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert!(html.contains("value=\"Д-7/2026\"") && html.contains("value=\"2025-12-31\""));
    let bad_number = app
        .post(
            &root,
            "/admin/contracts/new",
            &[contract("2026-12-31"), vec![("hours_per_month", "много")]].concat(),
        )
        .await;
    assert_eq!(bad_number.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_number
            .text()
            .await
            .unwrap()
            .contains("id=\"hours_per_month-error\"")
    );
    let saved = app
        .post(&root, "/admin/contracts/new", &contract("2026-12-31"))
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let location = saved.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, html) = app.page(&root, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("value=\"20\"") && html.contains("value=\"15000\""));
    // Another contract of the client over the same period: refused at its start, in Russian.
    let overlapping = app
        .post(
            &root,
            "/admin/contracts/new",
            &contract("2026-12-31")
                .into_iter()
                .map(|(k, v)| (k, if k == "number" { "Д-8/2026" } else { v }))
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(overlapping.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = overlapping.text().await.unwrap();
    assert!(
        html.contains("id=\"starts_on-error\"")
            && html.contains("Срок пересекается с договором Д-7/2026 (2026-01-01 – 2026-12-31)"),
        "{html}"
    );

    // Users: a line out of range is refused at its field; a specialist is created with
    // lines and pools; a taken e-mail is refused at its field.
    let user = |email: &'static str, lines: &'static str| {
        vec![
            ("csrf", root.csrf.as_str()),
            ("email", email),
            ("name", "Пётр Вторлинов"),
            ("role", "specialist"),
            ("lines", lines),
            ("pools", "accounting"),
            ("password", "long-enough"),
            ("active", "1"),
        ]
    };
    let refused = app
        .post(&root, "/admin/users", &user("petr@desk.test", "7"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"lines-error\"") && html.contains("value=\"petr@desk.test\""));
    // The desk's reason, in the admin's language (Russian by default).
    assert!(html.contains("Линия — число от 1 до 4."), "{html}");
    assert!(!html.contains("a line is 1 to 4"));
    let created = app
        .post(&root, "/admin/users", &user("petr@desk.test", "2"))
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let taken = app
        .post(&root, "/admin/users", &user("petr@desk.test", "2"))
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.text().await.unwrap().contains("id=\"email-error\""));
    let (petr, _) = app
        .desk
        .store
        .user_by_email(&Email::parse("petr@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(petr.lines, vec![Line::new(2).unwrap()]);
    assert_eq!(
        app.desk.store.user_pools(petr.id).await.unwrap(),
        vec!["accounting"]
    );
    assert_eq!(
        app.post_login("petr@desk.test", "long-enough")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    // Skills and a service priority, used by assignment.
    let skills = app
        .post(
            &root,
            &format!("/admin/skills/users/{}", petr.id.0),
            &[("csrf", &root.csrf), ("skills", "1C, сеть")],
        )
        .await;
    assert_eq!(skills.status(), StatusCode::SEE_OTHER);
    let priority = app
        .post(
            &root,
            "/admin/skills/priorities",
            &[
                ("csrf", &root.csrf),
                ("user", &petr.id.0.to_string()),
                ("service", "question"),
                ("priority", "1"),
                ("comment", "знает бухгалтерию"),
            ],
        )
        .await;
    assert_eq!(priority.status(), StatusCode::SEE_OTHER);
    let bad = app
        .post(
            &root,
            "/admin/skills/priorities",
            &[
                ("csrf", &root.csrf),
                ("user", &petr.id.0.to_string()),
                ("service", "question"),
                ("priority", "0"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Приоритет — от 1 (первый) до 99.")
    );
    let (_, page) = app.page(&root, "/admin/skills").await;
    assert!(page.contains("1c, сеть") && page.contains("знает бухгалтерию"));

    // Deactivated: the user can no longer log in; an admin cannot lock themselves out.
    let deactivate = app
        .post(
            &root,
            &format!("/admin/users/{}", petr.id.0),
            &[
                ("csrf", root.csrf.as_str()),
                ("name", "Пётр Вторлинов"),
                ("role", "specialist"),
                ("lines", "2"),
            ],
        )
        .await;
    assert_eq!(deactivate.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.post_login("petr@desk.test", "long-enough")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (root_user, _) = app
        .desk
        .store
        .user_by_email(&Email::parse("root@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    let locked = app
        .post(
            &root,
            &format!("/admin/users/{}", root_user.id.0),
            &[
                ("csrf", root.csrf.as_str()),
                ("name", "Администратор"),
                ("role", "manager"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(locked.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Accounts and configuration are the admin's; a manager runs clients, contracts and
    // the team's skills (okno_domain::policy).
    let maria = app.manager().await;
    for path in ["/admin/users", "/admin/workflows", "/admin/calendars"] {
        assert_eq!(
            app.page(&maria, path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for path in [
        "/admin",
        "/admin/clients",
        "/admin/contracts",
        "/admin/skills",
    ] {
        assert_eq!(app.page(&maria, path).await.0, StatusCode::OK, "{path}");
    }
}

async fn a_saved_draft_is_changed_and_sent_by_its_author_only(db: okno_store::testing::TestDb) {
    let app = spawn_on(db.store.clone(), tempfile::tempdir().unwrap()).await;
    let anna = app.login("anna@alfa.test").await;
    let location = app.save_draft(&anna, "Акт сверки").await;
    let edit = format!("{location}/edit");
    let (_, page) = app.page(&anna, &location).await;
    assert!(page.contains(&format!("href=\"{edit}\"")), "{page}");
    let (status, form) = app.page(&anna, &edit).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"Акт сверки\""), "{form}");
    assert!(!form.contains('⟦'));
    let (_, english) = app.page(&anna, &format!("{edit}?lang=en")).await;
    assert!(english.contains("Send to support") && !english.contains('⟦'));

    // An empty subject is refused next to its field; what was typed stays.
    let refused = app
        .post(
            &anna,
            &edit,
            &[
                ("csrf", anna.csrf.as_str()),
                ("subject", " "),
                ("description", "Нужен акт за <март>"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"subject-error\"") && html.contains("Заполните это поле"));
    assert!(
        (html.contains("Нужен акт за &lt;март&gt;")
            || html.contains("Нужен акт за &#60;март&#62;"))
            && !html.contains("<март>"),
        "typed text kept, escaped"
    );
    let forged = app
        .post(&anna, &edit, &[("csrf", "forged"), ("subject", "Подмена")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Saved again: still a draft, with the new text, and nobody else may change it.
    let saved = app
        .post(
            &anna,
            &edit,
            &[
                ("csrf", anna.csrf.as_str()),
                ("subject", "Акт сверки за март"),
                ("description", "Нужен акт за март"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(saved.headers()[header::LOCATION], location.as_str());
    let (_, page) = app.page(&anna, &location).await;
    assert!(page.contains("Акт сверки за март") && page.contains("badge-draft"));
    let boris = app.login("boris@beta.test").await;
    assert_eq!(app.page(&boris, &edit).await.0, StatusCode::NOT_FOUND);
    let lena = app.login("lena@desk.test").await;
    let staff = app
        .post(
            &lena,
            &edit,
            &[("csrf", lena.csrf.as_str()), ("subject", "Чужая правка")],
        )
        .await;
    assert_eq!(
        staff.status(),
        StatusCode::NOT_FOUND,
        "only the author edits: staff do not even see another's draft"
    );
    let unchanged = app
        .desk
        .store
        .ticket(
            TicketScope::All,
            TicketNumber::parse(location.trim_start_matches("/tickets/"))
                .map(|n| TicketId(n.0))
                .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.subject, "Акт сверки за март");

    // The API changes it too, for its author only.
    let anna_user = app
        .desk
        .store
        .user(app.alfa_contact)
        .await
        .unwrap()
        .unwrap();
    let token = app.desk.create_token(&anna_user).await.unwrap();
    let put = |token: String, body: serde_json::Value| {
        app.http
            .put(app.url(&format!("/api/v1{location}/draft")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let updated = put(
        token.clone(),
        serde_json::json!({"subject": "Акт сверки за I квартал", "description": "За январь–март"}),
    )
    .await
    .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let body: serde_json::Value = updated.json().await.unwrap();
    assert_eq!(body["subject"], "Акт сверки за I квартал");
    assert_eq!(body["status"], "draft");
    let empty = put(token.clone(), serde_json::json!({"subject": ""}))
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = empty.json().await.unwrap();
    assert_eq!(body["field"], "subject");

    // Sent from the form: no longer a draft, so no longer editable.
    let sent = app
        .post(
            &anna,
            &edit,
            &[
                ("csrf", anna.csrf.as_str()),
                ("subject", "Акт сверки за I квартал"),
                ("description", "За январь–март, в двух экземплярах"),
                ("send", "1"),
            ],
        )
        .await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.page(&anna, &location).await;
    assert!(!page.contains("badge-draft") && page.contains("в двух экземплярах"));
    let again = app.get(&anna.cookie, &edit).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let late = put(token, serde_json::json!({"subject": "Поздно"}))
        .await
        .unwrap();
    assert_eq!(late.status(), StatusCode::CONFLICT);
}

okno_store::on_both_backends!(an_admin_loads_a_production_calendar_from_the_page_and_the_api);

/// The calendars admin page's upload form and `POST /api/v1/calendars/import`: a newer
/// production calendar replaces the draft's days, new deadlines follow; a bad file is
/// refused with its line and changes nothing; only admins load one.
async fn an_admin_loads_a_production_calendar_from_the_page_and_the_api(
    db: okno_store::testing::TestDb,
) {
    const XML_2027: &str = include_str!("../../../sla/tests/fixtures/xmlcalendar-ru-2027.xml");
    const CSV: &str = include_str!("../../../sla/tests/fixtures/datagov-ru-2024-2027.csv");
    let app = spawn_on(db.store.clone(), tempfile::tempdir().unwrap()).await;
    let root = app.admin().await;
    let (admin, _) = app
        .desk
        .store
        .user_by_email(&Email::parse("root@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    // The desk runs with the draft of 2027: Saturday 20 February rests.
    let shipped = app
        .desk
        .sla_file(&admin, Section::Calendars, "holidays-ru")
        .unwrap();
    let draft = shipped
        .text
        .replace("\"2027-02-22\", \"2027-02-23\",", "\"2027-02-23\",")
        .replace(
            "working_days = [\"2027-02-20\"]",
            "working_days = [\"2027-11-13\"]",
        );
    app.desk
        .publish_sla_file(&admin, Section::Calendars, "holidays-ru", &draft)
        .await
        .unwrap();
    let friday: Timestamp = "2027-02-19T17:00:00+03:00".parse().unwrap();
    let due = |desk: &Desk| {
        desk.sla()
            .calendars
            .get("ru-standard")
            .unwrap()
            .due(friday, 120)
            .to_string()
    };
    assert_eq!(due(&app.desk), "2027-02-22T07:00:00Z");

    for lang in ["ru", "en"] {
        let (status, html) = app
            .page(&root, &format!("/admin/calendars?lang={lang}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("action=\"/admin/calendars/import\""),
            "{html}"
        );
        assert!(html.contains("enctype=\"multipart/form-data\""));
        assert!(!html.contains('⟦'), "{lang} misses a key");
    }
    let upload = |browser: &Browser, csrf: &str, name: &str, body: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body)
                    .file_name(name.to_owned())
                    .mime_str("text/xml")
                    .unwrap(),
            );
        app.http
            .post(app.url("/admin/calendars/import"))
            .header(header::COOKIE, format!("okno_session={}", browser.cookie))
            .multipart(form)
            .send()
    };

    // Without the session's token: refused.
    let forged = upload(&root, "forged", "calendar.xml", XML_2027.into())
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A damaged file: 422, the errors with the file and line by the form, nothing changed.
    let damaged = XML_2027.replace("d=\"02.20\" t=\"2\"", "d=\"02.20\" t=\"5\"");
    let line = damaged.lines().position(|l| l.contains("t=\"5\"")).unwrap() + 1;
    let refused = upload(&root, &root.csrf, "calendar.xml", damaged.into())
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"import-error\""), "{html}");
    assert!(
        html.contains(&format!("calendar.xml:{line}: t=&#34;5&#34;")),
        "{html}"
    );
    assert!(html.contains("Файл не загружен"), "{html}");
    assert_eq!(due(&app.desk), "2027-02-22T07:00:00Z");
    let empty = upload(&root, &root.csrf, "", Vec::new()).await.unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The published calendar: loaded, its figures shown, new deadlines follow.
    let loaded = upload(&root, &root.csrf, "calendar.xml", XML_2027.into())
        .await
        .unwrap();
    assert_eq!(loaded.status(), StatusCode::OK);
    let html = loaded.text().await.unwrap();
    assert!(html.contains("id=\"import-done\""), "{html}");
    assert!(html.contains("рабочих дней: 247"), "{html}");
    assert!(html.contains("часов при 40-часовой неделе: 1972"), "{html}");
    assert_eq!(due(&app.desk), "2027-02-20T07:00:00Z");
    let list = app
        .desk
        .sla_file(&admin, Section::Calendars, "holidays-ru")
        .unwrap();
    assert!(
        list.text.contains("# Imported from calendar.xml"),
        "{}",
        list.text
    );

    // Not for a manager's session.
    let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
    app.desk
        .store
        .create_user(&NewUser {
            email: Email::parse("boss@desk.test").unwrap(),
            name: "Руководитель".into(),
            role: Role::Manager,
            client_id: None,
            lines: vec![],
            sees_organization: false,
            password_hash: Some(hash),
        })
        .await
        .unwrap();
    let boss = app.login("boss@desk.test").await;
    let denied = upload(&boss, &boss.csrf, "calendar.xml", XML_2027.into())
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    // The API: the body is the file.
    let token = app.desk.create_token(&admin).await.unwrap();
    let post = |token: String, name: &'static str, body: Vec<u8>| {
        app.http
            .post(app.url(&format!("/api/v1/calendars/import?file_name={name}")))
            .bearer_auth(token)
            .body(body)
            .send()
    };
    let bad = post(token.clone(), "bad.csv", b"garbage,here\n1,2\n".to_vec())
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["field"], "file");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("bad.csv:1: the header"),
        "{body}"
    );
    let done = post(token, "proizvcalendar.csv", CSV.into()).await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    let body: serde_json::Value = done.json().await.unwrap();
    assert_eq!(body["list"], "holidays-ru");
    assert_eq!(body["version"], list.version + 1);
    assert_eq!(body["format"], "datagov_csv");
    assert_eq!(body["years"].as_array().unwrap().len(), 4);
    assert_eq!(body["years"][3]["hours_40"], 1972);
    let (manager, _) = app
        .desk
        .store
        .user_by_email(&Email::parse("boss@desk.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    let manager_token = app.desk.create_token(&manager).await.unwrap();
    let denied = post(manager_token, "c.csv", CSV.into()).await.unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(due(&app.desk), "2027-02-20T07:00:00Z");
}

/// Staff registering a ticket for a client by phone choose the contact: the ticket is then
/// the contact's own (issue 18, defect 9).
#[tokio::test]
async fn staff_register_a_ticket_for_the_contact_who_called() {
    let app = spawn().await;
    let lena = app.login("lena@desk.test").await;
    let (_, form) = app.page(&lena, "/tickets/new?service=question").await;
    assert!(form.contains("name=\"requester\""), "{form}");
    let fields = |requester: &'static str| {
        [
            ("csrf", lena.csrf.as_str()),
            ("service", "question"),
            ("client", "ALFA"),
            ("requester", requester),
            ("subject", "Звонок: не печатается счёт"),
            ("description", "Клиент позвонил"),
        ]
    };
    let refused = app
        .post(&lena, "/tickets", &fields("boris@beta.test"))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"requester-error\""), "{html}");
    assert!(
        html.contains("value=\"boris@beta.test\""),
        "the typed contact is kept"
    );

    let created = app.post(&lena, "/tickets", &fields("anna@alfa.test")).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let number = TicketNumber::parse(location.trim_start_matches("/tickets/")).unwrap();
    let ticket = app
        .desk
        .store
        .ticket(TicketScope::All, TicketId(number.0))
        .await
        .unwrap()
        .unwrap();
    let anna = app.login("anna@alfa.test").await;
    assert_eq!(ticket.requester_name, "Анна Альфина");
    let (status, page) = app.page(&anna, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Звонок: не печатается счёт"));
}
