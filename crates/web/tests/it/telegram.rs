//! The Telegram bot (issue 20) against a faithful local fake of the Bot API over HTTP
//! (`getUpdates` with offset and timeout, `sendMessage`, `sendDocument`, `sendPhoto`,
//! `getFile` and the file download, `answerCallbackQuery`, `setWebhook`/`deleteWebhook`,
//! Telegram's `{ok, result}` and `{ok: false, error_code, description, parameters}`
//! answers), on SQLite and (with `OKNO_TEST_DATABASE_URL`) PostgreSQL: linking by code and
//! by one's own phone number, tickets from service buttons, files, replies, the question a
//! ticket waits on, notices split under 4096 characters, ratings, managers' alerts, the
//! kept offset, the webhook and its secret; and each kind of bad input.

use axum::extract::{Path, State};
use axum::http::StatusCode as AxumStatus;
use axum::routing::{any, get};
use jiff::SignedDuration;
use okno_desk::channels::setting;
use okno_desk::channels::telegram::{BotApi, UpdateOutcome};
use okno_desk::{Desk, Settings};
use okno_domain::clock::ManualClock;
use okno_domain::*;
use okno_store::testing::TestDb;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::common;

okno_store::on_both_backends!(
    telegram_bot_end_to_end,
    telegram_bad_input,
    telegram_webhook
);

const TOKEN: &str = "123456:TEST-token";

/// What the fake Bot API holds and saw.
#[derive(Default)]
pub struct FakeState {
    /// Updates not yet confirmed by a `getUpdates` offset.
    pub updates: Vec<Value>,
    /// `sendMessage` (and `sendDocument`, `sendPhoto`) calls taken, with the id given.
    pub sent: Vec<Value>,
    pub callbacks: Vec<Value>,
    /// file_id → (file_path, bytes)
    pub files: HashMap<String, (String, Vec<u8>)>,
    /// The next this many `sendMessage` calls answer 429.
    pub throttle: u32,
    pub webhook: Option<Value>,
    pub offsets: Vec<i64>,
    next_message_id: i64,
}

#[derive(Clone)]
pub struct Fake {
    pub base: String,
    pub state: Arc<Mutex<FakeState>>,
    notify: Arc<tokio::sync::Notify>,
}

fn ok(result: Value) -> (AxumStatus, axum::Json<Value>) {
    (
        AxumStatus::OK,
        axum::Json(json!({"ok": true, "result": result})),
    )
}

fn error(
    code: u16,
    description: &str,
    parameters: Option<Value>,
) -> (AxumStatus, axum::Json<Value>) {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    (AxumStatus::from_u16(code).unwrap(), axum::Json(body))
}

async fn method(
    State(fake): State<Fake>,
    Path((bot, name)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> (AxumStatus, axum::Json<Value>) {
    if bot != format!("bot{TOKEN}") {
        return error(401, "Unauthorized", None);
    }
    let params: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return error(400, "Bad Request: can't parse JSON", None),
        }
    };
    match name.as_str() {
        "getUpdates" => {
            let offset = params["offset"].as_i64().unwrap_or(0);
            let timeout = params["timeout"].as_u64().unwrap_or(0);
            let limit = params["limit"].as_u64().unwrap_or(100) as usize;
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
            loop {
                let notified = fake.notify.notified();
                {
                    let mut s = fake.state.lock().unwrap();
                    if s.webhook.is_some() {
                        return error(
                            409,
                            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                            None,
                        );
                    }
                    s.offsets.push(offset);
                    // An offset confirms every update before it: they are gone for good.
                    s.updates
                        .retain(|u| u["update_id"].as_i64().unwrap() >= offset);
                    let found: Vec<Value> = s.updates.iter().take(limit).cloned().collect();
                    if !found.is_empty() || tokio::time::Instant::now() >= deadline {
                        return ok(Value::Array(found));
                    }
                }
                let _ = tokio::time::timeout_at(deadline, notified).await;
            }
        }
        "sendMessage" | "sendDocument" | "sendPhoto" => {
            let mut s = fake.state.lock().unwrap();
            if params["chat_id"].is_null() {
                return error(400, "Bad Request: chat_id is empty", None);
            }
            if name == "sendMessage" {
                let text = params["text"].as_str().unwrap_or_default();
                if text.trim().is_empty() {
                    return error(400, "Bad Request: message text is empty", None);
                }
                if text.encode_utf16().count() > 4096 {
                    return error(400, "Bad Request: message is too long", None);
                }
                if s.throttle > 0 {
                    s.throttle -= 1;
                    return error(
                        429,
                        "Too Many Requests: retry after 1",
                        Some(json!({"retry_after": 1})),
                    );
                }
            }
            s.next_message_id += 1;
            let id = s.next_message_id;
            let mut recorded = params.clone();
            recorded["message_id"] = json!(id);
            recorded["method"] = json!(name);
            s.sent.push(recorded);
            ok(json!({
                "message_id": id,
                "date": 1_700_000_000,
                "chat": {"id": params["chat_id"], "type": "private"},
                "text": params["text"],
            }))
        }
        "getFile" => {
            let s = fake.state.lock().unwrap();
            let id = params["file_id"].as_str().unwrap_or_default();
            match s.files.get(id) {
                Some((path, bytes)) if bytes.len() > 20 * 1024 * 1024 => {
                    let _ = path;
                    error(400, "Bad Request: file is too big", None)
                }
                Some((path, bytes)) => ok(json!({
                    "file_id": id,
                    "file_unique_id": format!("u{id}"),
                    "file_size": bytes.len(),
                    "file_path": path,
                })),
                None => error(400, "Bad Request: invalid file_id", None),
            }
        }
        "answerCallbackQuery" => {
            fake.state.lock().unwrap().callbacks.push(params);
            ok(json!(true))
        }
        "setWebhook" => {
            fake.state.lock().unwrap().webhook = Some(params);
            ok(json!(true))
        }
        "deleteWebhook" => {
            fake.state.lock().unwrap().webhook = None;
            ok(json!(true))
        }
        _ => error(404, "Not Found", None),
    }
}

async fn file(
    State(fake): State<Fake>,
    Path((bot, path)): Path<(String, String)>,
) -> (AxumStatus, Vec<u8>) {
    if bot != format!("bot{TOKEN}") {
        return (AxumStatus::UNAUTHORIZED, Vec::new());
    }
    let s = fake.state.lock().unwrap();
    match s.files.values().find(|(p, _)| *p == path) {
        Some((_, bytes)) => (AxumStatus::OK, bytes.clone()),
        None => (AxumStatus::NOT_FOUND, Vec::new()),
    }
}

impl Fake {
    /// Starts the fake Bot API on a free loopback port.
    pub async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Fake {
            base: format!("http://{}", listener.local_addr().unwrap()),
            state: Default::default(),
            notify: Default::default(),
        };
        let app = axum::Router::new()
            .route("/file/{bot}/{*path}", get(file))
            .route("/{bot}/{method}", any(method))
            .with_state(fake.clone());
        tokio::spawn(axum::serve(listener, app).into_future());
        fake
    }

    pub fn push(&self, update: Value) {
        self.state.lock().unwrap().updates.push(update);
        self.notify.notify_waiters();
    }

    pub fn sent(&self) -> Vec<Value> {
        self.state.lock().unwrap().sent.clone()
    }

    fn sent_to(&self, chat: i64) -> Vec<Value> {
        self.sent()
            .into_iter()
            .filter(|m| m["chat_id"].as_i64() == Some(chat))
            .collect()
    }
}

/// A private-chat message from Telegram user `from`.
pub fn message(update_id: i64, from: i64, lang: &str, extra: Value) -> Value {
    let mut message = json!({
        "message_id": update_id * 10,
        "date": 1_700_000_000,
        "chat": {"id": from, "type": "private", "first_name": "Test"},
        "from": {"id": from, "is_bot": false, "first_name": "Test", "language_code": lang},
    });
    for (k, v) in extra.as_object().unwrap() {
        message[k] = v.clone();
    }
    json!({"update_id": update_id, "message": message})
}

pub fn text(update_id: i64, from: i64, text: &str) -> Value {
    message(update_id, from, "ru", json!({"text": text}))
}

fn callback(update_id: i64, from: i64, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("cb{update_id}"),
            "from": {"id": from, "is_bot": false, "first_name": "Test", "language_code": "ru"},
            "chat_instance": "42",
            "data": data,
            "message": {"message_id": 1, "date": 1_700_000_000, "chat": {"id": from, "type": "private"}, "text": "menu"},
        }
    })
}

struct Firm {
    desk: Arc<Desk>,
    clock: Arc<ManualClock>,
    base: String,
    admin: User,
    manager: User,
    staff: User,
    anna: User,
    boris: User,
    fake: Fake,
    api: BotApi,
    _files: tempfile::TempDir,
}

const ATTACHMENT_LIMIT: u64 = 1024;

async fn firm(db: &TestDb) -> Firm {
    let files = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new("2026-12-07T09:00:00Z".parse().unwrap()));
    let settings = Settings {
        clock: clock.clone(),
        attachment_limit: ATTACHMENT_LIMIT,
        search_indexer: false,
        ..Settings::new(files.path().to_path_buf())
    };
    let desk = Desk::start(db.store.clone(), settings).await.unwrap();
    let client = desk
        .store
        .create_client("ALFA", "Альфа", None)
        .await
        .unwrap();
    let (admin, _) =
        common::user_with_token(&desk, "admin@desk.test", Role::Admin, None, &[], None).await;
    let (manager, _) =
        common::user_with_token(&desk, "boss@desk.test", Role::Manager, None, &[], None).await;
    let (staff, _) = common::user_with_token(
        &desk,
        "staff@desk.test",
        Role::Specialist,
        None,
        &[1, 2, 3],
        None,
    )
    .await;
    let mut contacts = Vec::new();
    for (email, phone) in [
        ("anna@alfa.test", "+7 495 111-22-33"),
        ("boris@alfa.test", "8 (916) 000-00-01"),
    ] {
        desk.store
            .load_contacts(
                client,
                &[(email.to_owned(), email.to_owned(), phone.to_owned())],
                desk.now(),
            )
            .await
            .unwrap();
        let user = desk
            .store
            .user_by_email(&Email::parse(email).unwrap())
            .await
            .unwrap()
            .unwrap()
            .0;
        contacts.push(user);
    }
    let fake = Fake::start().await;
    let channels = desk.channels();
    channels
        .set_setting(&admin, setting::TELEGRAM_TOKEN, TOKEN)
        .await
        .unwrap();
    channels
        .set_setting(&admin, setting::TELEGRAM_API, &fake.base)
        .await
        .unwrap();
    let config = desk.telegram_config().await.unwrap().unwrap();
    assert_eq!(config.api, fake.base);
    let api = BotApi::new(&config);
    let base = common::serve(desk.clone()).await;
    let boris = contacts.pop().unwrap();
    let anna = contacts.pop().unwrap();
    Firm {
        desk,
        clock,
        base,
        admin,
        manager,
        staff,
        anna,
        boris,
        fake,
        api,
        _files: files,
    }
}

impl Firm {
    async fn take(&self, update: Value) -> UpdateOutcome {
        self.desk
            .telegram(&self.api)
            .take_update(&update)
            .await
            .unwrap()
    }

    /// Dispatches the outbox and sends the queue to the fake.
    async fn deliver(&self) -> okno_desk::channels::telegram::TelegramSendCounts {
        self.desk.dispatch_telegram().await.unwrap();
        self.desk.telegram(&self.api).send().await.unwrap()
    }

    async fn ticket_count(&self) -> usize {
        let filter = okno_store::TicketFilter {
            status: None,
            client: None,
            after: None,
            limit: 500,
            drafts_of: None,
        };
        self.desk.tickets(&self.admin, &filter).await.unwrap().len()
    }

    async fn open_task(&self, ticket: TicketId, kind: &str) -> Task {
        self.desk
            .store
            .tasks(ticket)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.kind == kind && t.state == TaskState::Open)
            .unwrap_or_else(|| panic!("no open {kind} task"))
    }
}

const ANNA_TG: i64 = 1001;
const BORIS_TG: i64 = 1003;

async fn telegram_bot_end_to_end(db: TestDb) {
    let f = firm(&db).await;
    let desk = &f.desk;

    // Linking with the portal's one-time code.
    let (code, _) = desk.channels().telegram_code(&f.anna).await.unwrap();
    assert_eq!(
        f.take(text(1, ANNA_TG, &format!("/start {code}"))).await,
        UpdateOutcome::Linked(f.anna.id)
    );
    // Linking with one's own phone number shared from Telegram (written without "+").
    let shared = json!({"contact": {"phone_number": "79160000001", "first_name": "Boris", "user_id": BORIS_TG}});
    assert_eq!(
        f.take(message(2, BORIS_TG, "ru", shared)).await,
        UpdateOutcome::Linked(f.boris.id)
    );
    let counts = f.deliver().await;
    assert_eq!(counts.sent, 2);
    assert!(
        f.fake.sent_to(ANNA_TG)[0]["text"]
            .as_str()
            .unwrap()
            .contains("Telegram подключён")
    );

    // A ticket from the service buttons: /new, the button, then the text.
    assert_eq!(
        f.take(text(3, ANNA_TG, "/new")).await,
        UpdateOutcome::Answered
    );
    f.deliver().await;
    let menu = f.fake.sent_to(ANNA_TG).pop().unwrap();
    let buttons = menu["reply_markup"]["inline_keyboard"].to_string();
    assert!(buttons.contains("svc:question"), "{buttons}");
    assert_eq!(
        f.take(callback(4, ANNA_TG, "svc:question")).await,
        UpdateOutcome::Answered
    );
    assert_eq!(
        f.fake.state.lock().unwrap().callbacks[0]["callback_query_id"],
        "cb4"
    );
    let UpdateOutcome::Opened(first) = f
        .take(text(
            5,
            ANNA_TG,
            "Не печатается счёт\nС утра ошибка при печати.",
        ))
        .await
    else {
        panic!("no ticket opened");
    };
    let ticket = desk.ticket(&f.anna, first).await.unwrap();
    assert_eq!(ticket.requester_id, f.anna.id);
    assert_eq!(ticket.service, "question");
    assert_eq!(ticket.subject, "Не печатается счёт");

    // A photo with a caption goes into the current ticket with its file.
    f.fake.state.lock().unwrap().files.insert(
        "photo-1".into(),
        (
            "photos/file_1.jpg".into(),
            b"\xFF\xD8\xFFjpeg-bytes".to_vec(),
        ),
    );
    let photo = json!({"caption": "Скриншот ошибки", "photo": [
        {"file_id": "photo-small", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 3},
        {"file_id": "photo-1", "file_unique_id": "p1", "width": 1280, "height": 720, "file_size": 13}
    ]});
    assert_eq!(
        f.take(message(6, ANNA_TG, "ru", photo)).await,
        UpdateOutcome::Commented(first)
    );
    let files = desk.attachments(&f.anna, first).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].size, 13);
    let comments = desk.comments(&f.anna, first).await.unwrap();
    assert_eq!(comments.last().unwrap().body, "Скриншот ошибки");
    assert_eq!(files[0].comment_id, Some(comments.last().unwrap().id));

    // Staff's public answer, longer than one Telegram message: split, nothing lost.
    let long = format!(
        "Ответ специалиста. {}",
        "Подробное объяснение. ".repeat(300)
    );
    desk.comment(&f.staff, first, &long, false).await.unwrap();
    desk.comment(&f.staff, first, "Внутренняя заметка", true)
        .await
        .unwrap();
    f.deliver().await;
    let to_anna: Vec<String> = f
        .fake
        .sent_to(ANNA_TG)
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    let parts: Vec<&String> = to_anna
        .iter()
        .filter(|t| t.contains("Подробное объяснение"))
        .collect();
    assert!(parts.len() >= 2, "{to_anna:?}");
    assert!(parts.iter().all(|p| p.encode_utf16().count() <= 4096));
    let joined = parts
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(joined.matches("Подробное объяснение").count(), 300);
    assert!(!to_anna.iter().any(|t| t.contains("Внутренняя заметка")));

    // A second ticket becomes current; a reply to a bot message about the first goes there.
    f.take(callback(7, ANNA_TG, "svc:question")).await;
    let UpdateOutcome::Opened(second) = f.take(text(8, ANNA_TG, "Второй вопрос")).await
    else {
        panic!("no second ticket");
    };
    assert_ne!(first, second);
    let about_first = desk
        .store
        .telegram_messages(0, 500)
        .await
        .unwrap()
        .into_iter()
        .rfind(|m| m.ticket_id == Some(first) && m.message_id.is_some())
        .unwrap();
    let reply = json!({"text": "Дополнение к первому", "reply_to_message": {
        "message_id": about_first.message_id.unwrap(), "date": 1_700_000_000,
        "chat": {"id": ANNA_TG, "type": "private"}, "text": "…"}});
    assert_eq!(
        f.take(message(9, ANNA_TG, "ru", reply)).await,
        UpdateOutcome::Commented(first)
    );
    let last = desk.comments(&f.anna, first).await.unwrap().pop().unwrap();
    assert_eq!(last.body, "Дополнение к первому");

    // The ticket waits on the client's answer; the answer from Telegram puts it back in work.
    let classify = f.open_task(first, "classify").await;
    desk.complete_task(&f.staff, classify.id, "question", None)
        .await
        .unwrap();
    let answer = f.open_task(first, "answer").await;
    let waiting = desk
        .complete_task(&f.staff, answer.id, "ask_client", None)
        .await
        .unwrap();
    assert_eq!(waiting.status, TicketStatus::WaitingClient);
    f.deliver().await;
    let status_notice = f.fake.sent_to(ANNA_TG).pop().unwrap();
    assert!(
        status_notice["text"]
            .as_str()
            .unwrap()
            .contains(&ticket.number().to_string())
    );
    assert_eq!(
        f.take(text(10, ANNA_TG, "Вот ответ на ваш вопрос")).await,
        UpdateOutcome::Commented(first)
    );
    let back = desk.ticket(&f.anna, first).await.unwrap();
    assert_eq!(back.status, TicketStatus::InProgress);

    // Solved: rating buttons, and the rating the portal records.
    let classify = f.open_task(second, "classify").await;
    desk.complete_task(&f.staff, classify.id, "bug", None)
        .await
        .unwrap();
    let fix = f.open_task(second, "develop").await;
    let solved = desk
        .complete_task(&f.staff, fix.id, "done", None)
        .await
        .unwrap();
    assert_eq!(solved.status, TicketStatus::Resolved);
    f.deliver().await;
    let rate = format!("rate:{}:5", second.0);
    assert!(
        f.fake
            .sent_to(ANNA_TG)
            .iter()
            .any(|m| m["reply_markup"].to_string().contains(&rate)),
        "no rating buttons"
    );
    assert_eq!(
        f.take(callback(11, ANNA_TG, &rate)).await,
        UpdateOutcome::Rated(second)
    );
    let rating = desk.store.rating(second).await.unwrap().unwrap();
    assert_eq!((rating.score, rating.user_id), (5, f.anna.id));

    // A manager who links their account gets the alerts.
    let (code, _) = desk.channels().telegram_code(&f.manager).await.unwrap();
    assert_eq!(
        f.take(text(12, 2001, &code)).await,
        UpdateOutcome::Linked(f.manager.id)
    );
    desk.store
        .raise_alert(
            &okno_store::NewAlert {
                kind: "breach".into(),
                ticket_id: first,
                task_id: None,
                cause_key: "telegram-test".into(),
                detail: "срок реакции нарушен".into(),
                title: "Нарушен срок".into(),
                priority: 1,
            },
            desk.now(),
        )
        .await
        .unwrap();
    f.deliver().await;
    assert!(
        f.fake
            .sent_to(2001)
            .iter()
            .any(|m| m["text"].as_str().unwrap().contains("срок реакции нарушен")),
        "{:?}",
        f.fake.sent_to(2001)
    );
    // Boris's chat heard nothing of Anna's tickets.
    assert!(f.fake.sent_to(BORIS_TG).iter().all(|m| {
        !m["text"]
            .as_str()
            .unwrap()
            .contains(&ticket.number().to_string())
    }));

    // Long polling keeps its offset in the database: a new poller takes up where it was,
    // and an update seen again is not taken twice.
    f.fake.push(text(20, BORIS_TG, "/help"));
    f.fake.push(text(21, BORIS_TG, "/help"));
    assert_eq!(desk.telegram(&f.api).poll(0).await.unwrap(), 2);
    let restarted = BotApi::new(&desk.telegram_config().await.unwrap().unwrap());
    assert_eq!(desk.telegram(&restarted).poll(0).await.unwrap(), 0);
    assert_eq!(f.fake.state.lock().unwrap().offsets.last(), Some(&22));
    assert_eq!(
        f.take(text(21, BORIS_TG, "/help")).await,
        UpdateOutcome::Duplicate
    );
    let status = desk.channels().telegram_status(&f.admin).await.unwrap();
    assert_eq!(status.offset, 22);
    assert!(status.last_update_at.is_some());

    // The admin page shows the bot's settings and status.
    let html = admin_page(&f).await;
    assert!(
        html.contains("telegram.token") && html.contains("id=\"telegram-on\""),
        "{html}"
    );
}

async fn admin_page(f: &Firm) -> String {
    let (cookie, _) = session(&f.desk, &f.admin).await;
    let r = reqwest::Client::new()
        .get(format!("{}/admin/channels", f.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    r.text().await.unwrap()
}

async fn session(desk: &Desk, user: &User) -> (String, String) {
    let session = desk
        .open_session(user, &okno_desk::auth::Origin::default())
        .await
        .unwrap();
    (format!("okno_session={}", session.cookie), session.csrf)
}

async fn telegram_bad_input(db: TestDb) {
    let f = firm(&db).await;
    let desk = &f.desk;

    // An unlinked account: a polite explanation (Russian, or English for an English
    // account), a button to share one's own number, and never a ticket.
    assert_eq!(
        f.take(text(1, 5001, "Помогите, всё сломалось")).await,
        UpdateOutcome::Unlinked
    );
    assert_eq!(
        f.take(message(2, 5002, "en", json!({"text": "Help"})))
            .await,
        UpdateOutcome::Unlinked
    );
    assert_eq!(
        f.take(callback(3, 5001, "svc:question")).await,
        UpdateOutcome::Unlinked
    );
    f.deliver().await;
    let ru = f.fake.sent_to(5001).pop().unwrap();
    assert!(ru["text"].as_str().unwrap().starts_with("Здравствуйте"));
    assert!(ru["reply_markup"].to_string().contains("request_contact"));
    let en = f.fake.sent_to(5002).pop().unwrap();
    assert!(en["text"].as_str().unwrap().starts_with("Hello"));
    assert_eq!(f.ticket_count().await, 0);

    // Someone else's contact card: refused, whoever's number it carries.
    let boris_card = json!({"contact": {"phone_number": "+79160000001", "first_name": "Boris", "user_id": 7777}});
    assert_eq!(
        f.take(message(4, 5001, "ru", boris_card)).await,
        UpdateOutcome::Refused("contact".into())
    );
    let no_user_id = json!({"contact": {"phone_number": "+79160000001", "first_name": "Boris"}});
    assert_eq!(
        f.take(message(5, 5001, "ru", no_user_id)).await,
        UpdateOutcome::Refused("contact".into())
    );
    // One's own number that no contact has.
    let stranger =
        json!({"contact": {"phone_number": "+79990001122", "first_name": "X", "user_id": 5001}});
    assert_eq!(
        f.take(message(6, 5001, "ru", stranger)).await,
        UpdateOutcome::Refused("phone".into())
    );
    assert!(desk.store.telegram_link(5001).await.unwrap().is_none());

    // A code works once, and not after it expires.
    let (code, _) = desk.channels().telegram_code(&f.anna).await.unwrap();
    assert_eq!(
        f.take(text(7, ANNA_TG, &code)).await,
        UpdateOutcome::Linked(f.anna.id)
    );
    assert_eq!(
        f.take(text(8, 5001, &format!("/start {code}"))).await,
        UpdateOutcome::Refused("code".into())
    );
    let (late, _) = desk.channels().telegram_code(&f.boris).await.unwrap();
    f.clock.advance(SignedDuration::from_mins(16));
    assert_eq!(
        f.take(text(9, BORIS_TG, &late)).await,
        UpdateOutcome::Refused("code".into())
    );

    // A file over the limit: a clear reply, the text kept, nothing stored of the file.
    f.take(callback(10, ANNA_TG, "svc:question")).await;
    let UpdateOutcome::Opened(ticket) = f.take(text(11, ANNA_TG, "Не открывается отчёт")).await
    else {
        panic!("no ticket");
    };
    f.fake
        .state
        .lock()
        .unwrap()
        .files
        .insert("big".into(), ("documents/big.log".into(), vec![b'x'; 4096]));
    let too_big = json!({"caption": "Лог во вложении", "document": {
        "file_id": "big", "file_unique_id": "b", "file_name": "big.log",
        "mime_type": "text/plain", "file_size": 4096}});
    assert_eq!(
        f.take(message(12, ANNA_TG, "ru", too_big)).await,
        UpdateOutcome::Commented(ticket)
    );
    // A file whose message gave no size is refused when the download passes the limit.
    let no_size =
        json!({"document": {"file_id": "big", "file_unique_id": "b", "file_name": "big.log"}});
    assert_eq!(
        f.take(message(13, ANNA_TG, "ru", no_size)).await,
        UpdateOutcome::Commented(ticket)
    );
    assert!(desk.attachments(&f.anna, ticket).await.unwrap().is_empty());
    let bodies: Vec<String> = desk
        .comments(&f.anna, ticket)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert!(bodies.contains(&"Лог во вложении".to_owned()), "{bodies:?}");
    f.deliver().await;
    let replies: Vec<String> = f
        .fake
        .sent_to(ANNA_TG)
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        replies
            .iter()
            .filter(|t| t.contains("big.log") && t.contains("не сохранён"))
            .count(),
        2,
        "{replies:?}"
    );

    // A 429 from Telegram: the message waits its retry_after and is sent, once.
    f.fake.state.lock().unwrap().throttle = 1;
    desk.comment(&f.staff, ticket, "Проверьте, пожалуйста, ещё раз", false)
        .await
        .unwrap();
    let first_try = f.deliver().await;
    assert_eq!((first_try.sent, first_try.throttled), (0, 1));
    assert_eq!(f.deliver().await.sent, 0, "sent before retry_after");
    f.clock.advance(SignedDuration::from_secs(2));
    assert_eq!(f.deliver().await.sent, 1);
    let sent = f.fake.sent_to(ANNA_TG);
    assert_eq!(
        sent.iter()
            .filter(|m| m["text"]
                .as_str()
                .unwrap()
                .contains("Проверьте, пожалуйста"))
            .count(),
        1
    );

    // A rating for a ticket that is not solved, or someone else's: refused.
    assert!(matches!(
        f.take(callback(14, ANNA_TG, &format!("rate:{}:5", ticket.0)))
            .await,
        UpdateOutcome::Refused(_)
    ));
    assert!(desk.store.rating(ticket).await.unwrap().is_none());
    let boris_code = desk.channels().telegram_code(&f.boris).await.unwrap().0;
    f.take(text(15, BORIS_TG, &boris_code)).await;
    let reply_elsewhere = json!({"text": "чужое", "reply_to_message": {
        "message_id": 999_999, "date": 1_700_000_000, "chat": {"id": BORIS_TG, "type": "private"}}});
    // Boris has no current ticket and the message he replies to is no bot message of his:
    // he gets the menu, Anna's ticket gets nothing.
    assert_eq!(
        f.take(message(16, BORIS_TG, "ru", reply_elsewhere)).await,
        UpdateOutcome::Answered
    );
    let anna_comments = desk.comments(&f.anna, ticket).await.unwrap();
    assert!(anna_comments.iter().all(|c| c.body != "чужое"));
    // Group chats and bots are not the desk's business.
    let group = json!({"update_id": 17, "message": {"message_id": 1, "date": 1_700_000_000,
        "chat": {"id": -100, "type": "group", "title": "g"},
        "from": {"id": ANNA_TG, "is_bot": false, "first_name": "A"}, "text": "hi"}});
    assert_eq!(f.take(group).await, UpdateOutcome::Ignored);
    assert_eq!(
        f.take(json!({"update_id": 18, "poll": {"id": "x"}})).await,
        UpdateOutcome::Ignored
    );
}

async fn telegram_webhook(db: TestDb) {
    let f = firm(&db).await;
    let desk = &f.desk;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/telegram/webhook", f.base);
    let update = text(1, 5001, "hello");
    // Not in webhook mode: nothing is taken, whatever the header says.
    let r = http
        .post(&url)
        .header("x-telegram-bot-api-secret-token", "anything")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    let channels = desk.channels();
    for (name, value) in [
        (setting::TELEGRAM_MODE, "webhook"),
        (setting::TELEGRAM_SECRET, "s3cret_Token-1"),
        (
            setting::TELEGRAM_WEBHOOK_URL,
            "https://desk.example/api/v1/telegram/webhook",
        ),
    ] {
        channels.set_setting(&f.admin, name, value).await.unwrap();
    }
    assert!(
        channels
            .set_setting(&f.admin, setting::TELEGRAM_SECRET, "has spaces")
            .await
            .is_err()
    );
    assert!(
        channels
            .set_setting(&f.admin, setting::TELEGRAM_MODE, "carrier-pigeon")
            .await
            .is_err()
    );
    let config = desk.telegram_config().await.unwrap().unwrap();
    desk.telegram(&f.api).configure(&config).await.unwrap();
    let set = f.fake.state.lock().unwrap().webhook.clone().unwrap();
    assert_eq!(set["url"], "https://desk.example/api/v1/telegram/webhook");
    assert_eq!(set["secret_token"], "s3cret_Token-1");
    // While a webhook is set, getUpdates is refused by Telegram (409): polling fails loudly.
    assert!(desk.telegram(&f.api).poll(0).await.is_err());

    // A forged or missing secret: 401 and nothing taken.
    for secret in [Some("s3cret_Token-2"), None] {
        let mut request = http.post(&url).json(&update);
        if let Some(secret) = secret {
            request = request.header("x-telegram-bot-api-secret-token", secret);
        }
        assert_eq!(
            request.send().await.unwrap().status(),
            reqwest::StatusCode::UNAUTHORIZED
        );
    }
    assert!(
        desk.store
            .telegram_messages(0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The right secret: taken once, a retry of the same update changes nothing.
    for _ in 0..2 {
        let r = http
            .post(&url)
            .header("x-telegram-bot-api-secret-token", "s3cret_Token-1")
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }
    let queued = desk.store.telegram_messages(0, 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].chat_id, 5001);
    // Back to polling: the webhook is deleted.
    channels
        .set_setting(&f.admin, setting::TELEGRAM_MODE, "polling")
        .await
        .unwrap();
    let config = desk.telegram_config().await.unwrap().unwrap();
    desk.telegram(&f.api).configure(&config).await.unwrap();
    assert!(f.fake.state.lock().unwrap().webhook.is_none());
    assert_eq!(desk.telegram(&f.api).poll(0).await.unwrap(), 0);
}
