//! The client portal's and the specialist desk's panels (issue 8) over a real server, on
//! SQLite and (with `OKNO_TEST_DATABASE_URL`) PostgreSQL: quota usage and client articles
//! on the portal; the timer, the ticket 360° and the staff knowledge base on the desk; the
//! planning calendar with its figures; the live fragments; the new-ticket form with files.

use jiff::{Timestamp, ToSpan};
use okno_desk::contracts::{ContractInput, LimitInput};
use okno_desk::kb::ArticleForm;
use okno_desk::{Desk, Settings};
use okno_domain::*;
use okno_store::testing::TestDb;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::sync::Arc;

use crate::common;

okno_store::on_both_backends!(portal_and_desk_panels);

const PASSWORD: &str = "secret-pass";
/// Small, so the tests can send a file over it.
const UPLOAD_LIMIT: u64 = 4096;

struct Site {
    base: String,
    http: reqwest::Client,
}

/// A logged-in browser: its session cookie and the session's CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn cookie_of(headers: &HeaderMap, name: &str) -> String {
    let set = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .expect("cookie set");
    set.split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn login(&self, email: &str) -> Browser {
        let form = self.http.get(self.url("/login")).send().await.unwrap();
        let login_cookie = cookie_of(form.headers(), "okno_login");
        let html = form.text().await.unwrap();
        let response = self
            .http
            .post(self.url("/login"))
            .header(header::COOKIE, format!("okno_login={login_cookie}"))
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf", &hidden(&html, "csrf")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email} logs in");
        let cookie = cookie_of(response.headers(), "okno_session");
        let (_, home) = self.page(&cookie, "/").await;
        Browser {
            csrf: hidden(&home, "csrf"),
            cookie,
        }
    }

    async fn get(&self, cookie: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header(header::COOKIE, format!("okno_session={cookie}"))
            .send()
            .await
            .unwrap()
    }

    async fn page(&self, cookie: &str, path: &str) -> (StatusCode, String) {
        let response = self.get(cookie, path).await;
        (response.status(), response.text().await.unwrap())
    }

    async fn post(&self, who: &Browser, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(header::COOKIE, format!("okno_session={}", who.cookie))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn post_multipart(
        &self,
        who: &Browser,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header(header::COOKIE, format!("okno_session={}", who.cookie))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn person(desk: &Desk, email: &str, role: Role, client: Option<ClientId>) -> User {
    let hash = okno_desk::auth::hash_password(PASSWORD).unwrap();
    let (user, _) = common::user_with_token(
        desk,
        email,
        role,
        client,
        if role == Role::Specialist { &[1] } else { &[] },
        Some(hash),
    )
    .await;
    user
}

fn article(title: &str, audience: &str) -> ArticleForm {
    ArticleForm {
        slug: None,
        title: title.into(),
        body: format!("{title}: как закрыть месяц без ошибок."),
        category: "Бухгалтерия".into(),
        tags: vec![],
        services: vec![],
        audience: audience.into(),
        clients: vec![],
        status: "published".into(),
    }
}

async fn portal_and_desk_panels(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let mut settings = Settings::new(files.path().to_path_buf());
    settings.attachment_limit = UPLOAD_LIMIT;
    let desk: Arc<Desk> = Desk::start(db.store.clone(), settings).await.unwrap();
    let alfa = desk
        .store
        .create_client("ALFA", "ООО «Альфа»", None)
        .await
        .unwrap();
    person(&desk, "anna@alfa.test", Role::Client, Some(alfa)).await;
    let lena = person(&desk, "lena@desk.test", Role::Specialist, None).await;
    let maria = person(&desk, "maria@desk.test", Role::Manager, None).await;
    let today = Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Moscow").unwrap())
        .date();
    let limit = |value: f64, unit: &str, per: &str| LimitInput {
        value: Some(value),
        unit: Some(unit.into()),
        per: Some(per.into()),
    };
    desk.save_contract(
        &maria,
        None,
        ContractInput {
            number: "Д-2026/7".into(),
            client: "ALFA".into(),
            starts_on: today.checked_sub(30.days()).unwrap().to_string(),
            ends_on: today.checked_add(300.days()).unwrap().to_string(),
            limits: vec![
                limit(10.0, "tickets", "month"),
                limit(5.0, "hours", "month"),
            ],
            ..ContractInput::default()
        },
    )
    .await
    .unwrap();
    let client_article = desk
        .create_article(
            &maria,
            article("000 Закрытие месяца для клиентов", "client"),
        )
        .await
        .unwrap();
    desk.create_article(&maria, article("000 Служебная заметка о закрытии", "staff"))
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
    let site = Site { base, http };
    let anna = site.login("anna@alfa.test").await;
    let lena_browser = site.login("lena@desk.test").await;

    // The new-ticket form renders the server's limit for the browser's check.
    let (status, form) = site
        .page(&anna.cookie, "/tickets/new?service=question")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains(&format!("data-max-bytes=\"{UPLOAD_LIMIT}\"")),
        "{form}"
    );
    assert!(form.contains("enctype=\"multipart/form-data\"") && form.contains("data-autosave="));

    // A file over the limit is refused with 413 and no ticket is opened.
    let ticket_form = |subject: &str, file: Vec<u8>, nonce: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", anna.csrf.clone())
            .text("service", "question")
            // Nonces are remembered per process, and the SQLite and PostgreSQL runs share one.
            .text("nonce", format!("{}-{nonce}", anna.csrf))
            .text("subject", subject.to_owned())
            .text("description", "Описание с файлом")
            .part(
                "file",
                reqwest::multipart::Part::bytes(file)
                    .file_name("screen.log")
                    .mime_str("text/plain")
                    .unwrap(),
            )
    };
    let too_big = site
        .post_multipart(
            &anna,
            "/tickets",
            ticket_form(
                "Слишком большой файл",
                vec![b'x'; UPLOAD_LIMIT as usize + 1],
                "n1",
            ),
        )
        .await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (_, home) = site.page(&anna.cookie, "/").await;
    assert!(!home.contains("Слишком большой файл"));

    // An error keeps what was typed, says so next to the field, and asks for the files again.
    let invalid = site
        .post_multipart(&anna, "/tickets", ticket_form("  ", b"log".to_vec(), "n2"))
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = invalid.text().await.unwrap();
    assert!(html.contains("id=\"subject-error\"") && html.contains("Описание с файлом"));
    assert!(html.contains("Файлы не сохранились"), "{html}");

    // The ticket with its file, sent as multipart.
    let created = site
        .post_multipart(
            &anna,
            "/tickets",
            ticket_form("Не закрывается месяц", b"log line".to_vec(), "n3"),
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let ticket_path = location(&created);
    let (_, ticket_html) = site.page(&anna.cookie, &ticket_path).await;
    assert!(
        ticket_html.contains("screen.log"),
        "the file is on the ticket"
    );
    assert!(ticket_html.contains(&format!("data-max-bytes=\"{UPLOAD_LIMIT}\"")));

    // The portal: quota usage of the contract in force, client articles but no staff ones.
    let (_, home) = site.page(&anna.cookie, "/").await;
    let quota = &home[home.find("id=\"quota\"").expect("quota panel")..];
    assert!(quota.contains("Д-2026/7"));
    assert!(
        quota.contains("1 / 10"),
        "one ticket of ten this month: {quota}"
    );
    assert!(home.contains("000 Закрытие месяца для клиентов"));
    assert!(!home.contains("000 Служебная заметка"));

    // The conversation refreshes: 204 while unchanged, the new comment once it is there;
    // a client's fragment never carries an internal note.
    let ticket = desk
        .tickets(
            &lena,
            &okno_store::TicketFilter {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.subject == "Не закрывается месяц")
        .unwrap();
    let stamp = hidden_attr(&ticket_html, "conversation?v=");
    let fragment = format!("{ticket_path}/conversation?v={stamp}");
    assert_eq!(
        site.get(&anna.cookie, &fragment).await.status(),
        StatusCode::NO_CONTENT
    );
    desk.comment(&lena, ticket.id, "Смотрим ваш журнал", false)
        .await
        .unwrap();
    desk.comment(&lena, ticket.id, "Служебно: проверить релиз", true)
        .await
        .unwrap();
    let (status, live) = site.page(&anna.cookie, &fragment).await;
    assert_eq!(status, StatusCode::OK);
    assert!(live.contains("Смотрим ваш журнал") && !live.contains("Служебно"));
    assert!(!live.contains("<html"), "a fragment, not a page");
    let (_, staff_live) = site.page(&lena_browser.cookie, &fragment).await;
    assert!(staff_live.contains("Служебно: проверить релиз"));
    let (status, feed) = site.page(&anna.cookie, "/feed").await;
    assert_eq!(status, StatusCode::OK);
    assert!(feed.contains("id=\"feed-live\""));

    // The desk: the timer, the staff knowledge base (panel and live search).
    let task = desk.ticket_tasks(&lena, ticket.id).await.unwrap()[0].id;
    desk.link_article(&lena, ticket.id, client_article.id)
        .await
        .unwrap();
    let (_, desk_html) = site.page(&lena_browser.cookie, "/desk").await;
    assert!(desk_html.contains("id=\"timer\"") && desk_html.contains("timer-idle"));
    assert!(
        desk_html.contains("000 Служебная заметка о закрытии"),
        "staff articles"
    );
    let (_, hits) = site
        .page(
            &lena_browser.cookie,
            "/desk/kb?q=%D0%B7%D0%B0%D0%BA%D1%80%D1%8B%D1%82",
        )
        .await;
    assert!(hits.contains("/kb/") && !hits.contains("<html"), "{hits}");

    // The task page: the ticket 360° and the timer on this task.
    let task_path = format!("/tasks/{}", task.0);
    let (_, task_html) = site.page(&lena_browser.cookie, &task_path).await;
    let panel = &task_html[task_html.find("id=\"ticket-360\"").expect("360 panel")..];
    assert!(panel.contains("ООО «Альфа»") && panel.contains("Д-2026/7"));
    assert!(
        panel.contains("1 / 10") && panel.contains("0:00 / 5:00"),
        "{panel}"
    );
    assert!(
        panel.contains("000 Закрытие месяца для клиентов"),
        "linked article"
    );
    assert!(panel.contains("t360-history") && panel.contains("0:00:00"));
    let started = site
        .post(
            &lena_browser,
            &format!("{task_path}/timer"),
            &[("csrf", &lena_browser.csrf), ("back", "/desk")],
        )
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&started), "/desk");
    let (_, desk_html) = site.page(&lena_browser.cookie, "/desk").await;
    assert!(
        desk_html.contains("class=\"timer-clock\""),
        "the running timer shows"
    );
    assert!(desk_html.contains(&format!("href=\"{task_path}\"")));
    let (_, task_html) = site.page(&lena_browser.cookie, &task_path).await;
    assert!(
        !task_html.contains("id=\"timer-start\""),
        "already running on this task"
    );
    // The staff ticket page shows the running timer too; the client's never does.
    let ticket_path = format!("/tickets/{}", ticket.number());
    let (_, ticket_html) = site.page(&lena_browser.cookie, &ticket_path).await;
    let timer = &ticket_html[ticket_html
        .find("id=\"timer\"")
        .expect("timer on the ticket page")..];
    assert!(
        timer.contains("class=\"timer-clock\"") && timer.contains(&format!("href=\"{task_path}\""))
    );
    let (_, client_html) = site.page(&anna.cookie, &ticket_path).await;
    assert!(!client_html.contains("id=\"timer\""));
    let stopped = site
        .post(
            &lena_browser,
            "/timer/stop",
            &[("csrf", &lena_browser.csrf), ("back", &task_path)],
        )
        .await;
    assert_eq!(location(&stopped), task_path);
    assert!(desk.running_timer(&lena).await.unwrap().is_none());
    let seconds = desk.ticket_seconds(&lena, ticket.id).await.unwrap();
    assert!(seconds >= 0);

    // Planning: a bad duration keeps what was typed and names the field; a good plan shows
    // in the week; the figures count it.
    desk.take_task(&lena, task).await.unwrap();
    let (_, ticket_html) = site.page(&lena_browser.cookie, &ticket_path).await;
    assert!(
        ticket_html.contains("timer-idle")
            && ticket_html.contains(&format!("action=\"{task_path}/timer\"")),
        "stopped: a start button for the specialist's own task on this ticket"
    );
    let day = next_working_day(today);
    // Into the plan on the next working day at 10:00, for so many minutes.
    let plan = async |minutes: &str| {
        let date = day.to_string();
        let fields = [
            ("csrf", lena_browser.csrf.as_str()),
            ("date", &date),
            ("time", "10:00"),
            ("minutes", minutes),
        ];
        site.post(&lena_browser, &format!("{task_path}/plan"), &fields)
            .await
    };
    let refused = plan("много").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"plan-error\"") && html.contains("value=\"много\""));
    let too_long = plan("1440").await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.text().await.unwrap().contains("Не помещается"));
    let planned = plan("90").await;
    assert_eq!(planned.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&planned), format!("/planning?week={day}"));
    let (status, week) = site.page(&lena_browser.cookie, &location(&planned)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        week.contains("10:00") && week.contains(&task_path),
        "{week}"
    );
    assert!(week.contains("запланировано 1:30 из"), "the day's load");
    assert!(
        week.contains("id=\"personal-figures\"") && week.contains("Сделано из запланированного")
    );
    // A client has no planning page and no desk fragments.
    let away = site.get(&anna.cookie, "/planning").await;
    assert_eq!(away.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        site.get(&anna.cookie, "/desk/kb?q=x").await.status(),
        StatusCode::NOT_FOUND
    );

    // Every new page in both languages without a missing key, each under 300 KB.
    let pages = [
        (&anna, "/".to_owned()),
        (&anna, ticket_path.clone()),
        (&anna, "/tickets/new?service=question".to_owned()),
        (&lena_browser, "/desk".to_owned()),
        (&lena_browser, task_path.clone()),
        (&lena_browser, "/planning".to_owned()),
        (&lena_browser, format!("/planning?week={day}")),
    ];
    for lang in ["ru", "en"] {
        for (who, path) in &pages {
            let sep = if path.contains('?') { '&' } else { '?' };
            let (status, html) = site
                .page(&who.cookie, &format!("{path}{sep}lang={lang}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{path} in {lang}");
            assert!(
                !html.contains('⟦'),
                "{path} in {lang} has an untranslated key"
            );
            assert!(html.len() < 300 * 1024, "{path} is {} bytes", html.len());
        }
    }
}

/// The value after `marker` up to the next quote (the conversation's stamp).
fn hidden_attr(html: &str, marker: &str) -> String {
    let start = html.find(marker).expect("marker") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// A Monday-to-Friday day after `today` that is not a public holiday in the demo calendar
/// (the first week of January is skipped).
fn next_working_day(today: jiff::civil::Date) -> jiff::civil::Date {
    let mut day = today.checked_add(1.day()).unwrap();
    loop {
        let weekend = matches!(
            day.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        let holidays = day.month() == 1 && day.day() <= 8 || day.month() == 12 && day.day() == 31;
        if !weekend && !holidays {
            return day;
        }
        day = day.checked_add(1.day()).unwrap();
    }
}
