//! What the firm's people do, step by step: clients write through the portal, the API and
//! mail in a weekly pattern; specialists take the top of their queue, run timers, classify,
//! ask the client, transfer and answer; clients answer late or never, rate, and reply to
//! closed tickets; managers work their alerts and the daily review and assign in bulk.
//! Every ticket an action touches is noted for the invariants, with what was promised.

use super::Options;
use super::firm::{self, Firm};
use anyhow::Context;
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};
use okno_desk::mail::{Inbox, IngestOutcome, MailSender, lettre_message};
use okno_desk::tickets::TicketInput;
use okno_desk::{Desk, DeskError};
use okno_domain::{DomainError, TaskState, TicketId, TicketNumber, TicketStatus, User};
use okno_mail::MailSettings;
use okno_mail::smtp::SmtpError;
use rand::Rng;
use rand::rngs::StdRng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::{Arc, Mutex};

/// What happened over the run.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub tickets: u64,
    pub by_portal: u64,
    pub by_api: u64,
    pub by_mail: u64,
    pub by_phone: u64,
    pub by_telegram: u64,
    pub refused: u64,
    pub tasks_completed: u64,
    pub transfers: u64,
    pub asked_client: u64,
    pub client_answers: u64,
    pub ratings: u64,
    pub replies_to_closed: u64,
    pub bulk_assigned: u64,
    pub reviews_done: u64,
    pub manager_tasks_done: u64,
    pub mails_sent: u64,
    pub workflows_republished: u64,
    pub contracts_signed: u64,
}

/// The support address of the simulated firm.
pub const SUPPORT: &str = "support@sim.okno";

pub fn mail_settings() -> MailSettings {
    MailSettings {
        from: SUPPORT.to_owned(),
        own_addresses: vec![SUPPORT.to_owned()],
        ..MailSettings::default()
    }
}

/// The HTTP API on a loopback port, as an integration would call it.
pub struct Api {
    base: String,
    http: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

impl Api {
    pub async fn start(desk: Arc<Desk>) -> anyhow::Result<Api> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = okno_web::app(desk);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Api {
            base,
            http: reqwest::Client::new(),
            _server: server,
        })
    }

    /// `POST /api/v1/tickets`; `Ok(None)`: refused with a 4xx (a limit, a contract).
    async fn open_ticket(
        &self,
        token: &str,
        service: &str,
        subject: &str,
        description: &str,
    ) -> anyhow::Result<Option<TicketId>> {
        let response = self
            .http
            .post(format!("{}/api/v1/tickets", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({
                "service": service, "subject": subject, "description": description
            }))
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_client_error() {
            return Ok(None);
        }
        anyhow::ensure!(status.is_success(), "POST /api/v1/tickets: {status} {body}");
        let id = body
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok())
            .context("ticket id in the API's answer")?;
        Ok(Some(TicketId(id)))
    }
}

/// Mail the desk sends, kept in memory: the SMTP server at the edge of the simulated world.
#[derive(Default)]
pub struct Sink {
    pub sent: Mutex<Vec<Vec<u8>>>,
}

impl Sink {
    /// The mail sent since the last call.
    pub fn take(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl MailSender for Sink {
    async fn send(&self, message: lettre_message::Message) -> Result<(), SmtpError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message.formatted());
        Ok(())
    }
}

/// What the simulation knows of a ticket it made.
#[derive(Debug, Clone)]
pub struct TicketModel {
    pub client: usize,
    pub contact: usize,
    /// The support level of the client's contract that day (`None`: no contract).
    pub level: Option<&'static str>,
}

/// A client's message, which someone must pick up.
#[derive(Debug, Clone)]
pub struct ClientMessage {
    pub ticket: TicketId,
    pub at: Timestamp,
    /// The ticket was resolved or closed when the client wrote.
    pub after_close: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The client answers the question the ticket waits on.
    Answer(TicketId),
    Rate(TicketId),
    /// The client writes again after the ticket was solved.
    ReplyClosed(TicketId),
}

/// A specialist's current piece of work.
#[derive(Debug, Clone)]
struct Work {
    task: okno_domain::TaskId,
    ticket: TicketId,
    kind: String,
    outcomes: Vec<String>,
    until: Timestamp,
    /// Whether the person stops the timer before completing (many forget).
    stops_timer: bool,
}

pub struct World {
    pub desk: Arc<Desk>,
    pub firm: Firm,
    api: Api,
    rng: StdRng,
    tokens: BTreeMap<okno_domain::UserId, String>,
    busy: Vec<Option<Work>>,
    events: BinaryHeap<Reverse<(Timestamp, Event)>>,
    pub tickets: BTreeMap<TicketId, TicketModel>,
    /// Every ticket an action touched in the current step.
    pub touched: BTreeSet<TicketId>,
    pub client_messages: Vec<ClientMessage>,
    pub sink: Sink,
    pub counts: Counts,
    per_working_day: f64,
    mail_serial: u64,
    day: Option<Date>,
    republish_on: u32,
    working_days_seen: u32,
    /// The contact who also uses the Telegram bot (the first client's first contact), with
    /// their Telegram account, and the bot's API client (no Telegram server runs here: the
    /// bot's text messages need none, a button's `answerCallbackQuery` fails and is logged).
    pub telegram: Option<(okno_domain::UserId, i64)>,
    bot: okno_desk::channels::telegram::BotApi,
    telegram_updates: i64,
}

const SUBJECTS: [&str; 8] = [
    "Не проводится документ реализации",
    "Ошибка при обновлении конфигурации",
    "Как настроить права пользователя",
    "Не формируется отчёт по продажам",
    "Нужна консультация по зарплате",
    "Не загружается выписка банка",
    "Сломался обмен с сайтом",
    "Вопрос по лицензиям",
];

impl World {
    /// The role of a member of the firm (`None`: not one the simulation made).
    pub fn role_of(&self, id: okno_domain::UserId) -> Option<okno_domain::Role> {
        let staff = self.firm.managers.iter().chain(&self.firm.specialists);
        if self.firm.admin.id == id {
            return Some(okno_domain::Role::Admin);
        }
        staff.map(|s| &s.user).find(|u| u.id == id).map(|u| u.role)
    }

    pub fn new(desk: Arc<Desk>, firm: Firm, api: Api, options: &Options, rng: StdRng) -> World {
        let busy = vec![None; firm.specialists.len()];
        World {
            desk,
            firm,
            api,
            rng,
            tokens: BTreeMap::new(),
            busy,
            events: BinaryHeap::new(),
            tickets: BTreeMap::new(),
            touched: BTreeSet::new(),
            client_messages: Vec::new(),
            sink: Sink::default(),
            counts: Counts::default(),
            per_working_day: f64::from(options.tickets_per_month) / 21.0,
            mail_serial: 0,
            day: None,
            republish_on: options.days / 2 + 1,
            working_days_seen: 0,
            telegram: None,
            bot: okno_desk::channels::telegram::BotApi::new(
                &okno_desk::channels::telegram::TelegramConfig {
                    token: "0:simulated".into(),
                    api: "http://127.0.0.1:9".into(),
                    mode: okno_desk::channels::telegram::Mode::Polling,
                    webhook_url: String::new(),
                    secret: String::new(),
                },
            ),
            telegram_updates: 0,
        }
    }

    /// Links the first client's first contact to a Telegram account, as they would with a
    /// code from the portal.
    pub async fn link_telegram(&mut self) -> anyhow::Result<()> {
        let Some(contact) = self.firm.clients.first().and_then(|c| c.contacts.first()) else {
            return Ok(());
        };
        let account = 700_000 + contact.id.0;
        self.desk
            .store
            .link_telegram(account, account, contact.id, "ru", self.desk.now())
            .await?;
        self.telegram = Some((contact.id, account));
        Ok(())
    }

    /// One update from the Telegram contact's account, as Telegram would send it.
    async fn telegram_update(
        &mut self,
        account: i64,
        content: serde_json::Value,
    ) -> anyhow::Result<okno_desk::channels::telegram::UpdateOutcome> {
        self.telegram_updates += 1;
        let id = self.telegram_updates;
        let from = serde_json::json!({"id": account, "is_bot": false, "first_name": "Telegram", "language_code": "ru"});
        let update = match content.get("data") {
            Some(data) => serde_json::json!({"update_id": id, "callback_query": {
                "id": format!("cb{id}"), "from": from, "chat_instance": "sim", "data": data}}),
            None => {
                let mut message = serde_json::json!({"message_id": id, "date": 1_700_000_000,
                    "chat": {"id": account, "type": "private"}, "from": from});
                message["text"] = content["text"].clone();
                serde_json::json!({"update_id": id, "message": message})
            }
        };
        Ok(self.desk.telegram(&self.bot).take_update(&update).await?)
    }

    /// One step of the firm's life at `now`.
    pub async fn step(&mut self, now: Timestamp, working: bool) -> anyhow::Result<()> {
        self.touched.clear();
        let local = now.to_zoned_datetime(super::moscow());
        if self.day != Some(local.date()) {
            self.new_day(local.date(), working).await?;
        }
        self.arrivals(now, working, local.time(), local.date())
            .await?;
        self.client_events(now).await?;
        self.specialists(now).await?;
        if working
            && local.time() >= Time::constant(9, 0, 0, 0)
            && local.time() < Time::constant(18, 0, 0, 0)
        {
            self.managers(local.time()).await?;
        }
        Ok(())
    }

    async fn new_day(&mut self, day: Date, working: bool) -> anyhow::Result<()> {
        self.day = Some(day);
        let desk = self.desk.clone();
        for client in &mut self.firm.clients {
            let before = client.contracts.iter().filter(|c| c.saved).count();
            firm::sign_due_contracts(&desk, &self.firm.admin, client, day).await?;
            self.counts.contracts_signed +=
                (client.contracts.iter().filter(|c| c.saved).count() - before) as u64;
        }
        if working {
            self.working_days_seen += 1;
            // Configuration republished mid-run: tickets under way keep their version.
            if self.working_days_seen == self.republish_on {
                self.republish().await?;
            }
        }
        Ok(())
    }

    async fn republish(&mut self) -> anyhow::Result<()> {
        let admin = self.firm.admin.clone();
        let source = self
            .desk
            .workflow_source(&admin, "question")
            .await?
            .context("the question workflow's source")?;
        let text = source.text.replacen(
            &format!("version = {}", source.version),
            &format!("version = {}", source.version + 1),
            1,
        );
        self.desk
            .publish_workflow(&admin, "question", &text)
            .await?;
        self.counts.workflows_republished += 1;
        Ok(())
    }

    /// New tickets: a weekly pattern over the working hours, and some mail at night.
    async fn arrivals(
        &mut self,
        now: Timestamp,
        working: bool,
        time: Time,
        day: Date,
    ) -> anyhow::Result<()> {
        let office =
            working && time >= Time::constant(9, 0, 0, 0) && time < Time::constant(18, 0, 0, 0);
        let weekday =
            [1.3, 1.1, 1.0, 0.9, 0.7, 0.2, 0.2][day.weekday().to_monday_zero_offset() as usize];
        let expected = if office {
            // 36 quarter hours in the working day carry 95 % of the tickets.
            self.per_working_day * 0.95 / 36.0 * weekday
        } else {
            // The rest comes by mail at night and at weekends (hourly steps).
            self.per_working_day * 0.05 / 15.0 * weekday
        };
        let count = poisson(&mut self.rng, expected);
        for _ in 0..count {
            self.new_ticket(now, day, office).await?;
        }
        Ok(())
    }

    fn pick_client(&mut self) -> usize {
        let total: f64 = self.firm.clients.iter().map(|c| c.weight).sum();
        let mut x = self.rng.random::<f64>() * total;
        for (i, c) in self.firm.clients.iter().enumerate() {
            x -= c.weight;
            if x <= 0.0 {
                return i;
            }
        }
        self.firm.clients.len() - 1
    }

    async fn new_ticket(&mut self, now: Timestamp, day: Date, office: bool) -> anyhow::Result<()> {
        let client = self.pick_client();
        let contact = self
            .rng
            .random_range(0..self.firm.clients[client].contacts.len());
        let user = self.firm.clients[client].contacts[contact].clone();
        let subject = format!(
            "{} #{}",
            SUBJECTS[self.rng.random_range(0..SUBJECTS.len())],
            self.counts.tickets + self.counts.refused + 1
        );
        let service = if self.rng.random_bool(0.9) {
            "question"
        } else {
            "documents"
        };
        let description = "Подробности во вложении. Работаем в базе бухгалтерии.";
        let channel = if !office {
            2
        } else {
            let x: f64 = self.rng.random();
            if x < 0.5 {
                0
            } else if x < 0.68 {
                1
            } else if x < 0.9 {
                2
            } else {
                3
            }
        };
        let by_telegram = channel == 0
            && self.telegram.is_some_and(|(contact, _)| contact == user.id)
            && self.rng.random_bool(0.7);
        let created = match channel {
            0 if by_telegram => {
                // The service button, then the question in one message.
                let account = self.telegram.map_or(0, |(_, a)| a);
                self.telegram_update(
                    account,
                    serde_json::json!({"data": format!("svc:{service}")}),
                )
                .await?;
                let text = format!("{subject}\n{description}");
                match self
                    .telegram_update(account, serde_json::json!({"text": text}))
                    .await?
                {
                    okno_desk::channels::telegram::UpdateOutcome::Opened(id) => {
                        self.counts.by_telegram += 1;
                        Some(id)
                    }
                    _ => None,
                }
            }
            0 => {
                let input = TicketInput {
                    service: service.into(),
                    subject,
                    description: description.into(),
                    client: None,
                    draft: false,
                    requester: None,
                };
                match refused(self.desk.open_ticket(&user, input).await)? {
                    Some(t) => {
                        self.counts.by_portal += 1;
                        Some(t.id)
                    }
                    None => None,
                }
            }
            1 => {
                let token = self.token(&user).await?;
                let id = self
                    .api
                    .open_ticket(&token, service, &subject, description)
                    .await?;
                if id.is_some() {
                    self.counts.by_api += 1;
                }
                id
            }
            3 => {
                // A call: line 1 registers the ticket for the contact who phoned.
                let staff = self.line1();
                let input = TicketInput {
                    service: service.into(),
                    subject,
                    description: description.into(),
                    client: Some(self.firm.clients[client].code.clone()),
                    draft: false,
                    requester: Some(user.email.as_str().to_owned()),
                };
                match refused(self.desk.open_ticket(&staff, input).await)? {
                    Some(t) => {
                        self.counts.by_phone += 1;
                        Some(t.id)
                    }
                    None => None,
                }
            }
            _ => {
                let raw = self.mail(&user, &subject, description, None, now);
                match self
                    .desk
                    .ingest_mail(&mail_settings(), &Inbox::default(), raw.as_bytes())
                    .await?
                {
                    IngestOutcome::Created(number) => {
                        self.counts.by_mail += 1;
                        Some(TicketId(number.0))
                    }
                    _ => None,
                }
            }
        };
        match created {
            Some(id) => {
                self.counts.tickets += 1;
                let level = self.firm.clients[client].level_on(day);
                self.tickets.insert(
                    id,
                    TicketModel {
                        client,
                        contact,
                        level,
                    },
                );
                self.touched.insert(id);
            }
            None => self.counts.refused += 1,
        }
        Ok(())
    }

    /// A line-1 specialist, chosen at random.
    fn line1(&mut self) -> User {
        let line1: Vec<&firm::Staff> = self
            .firm
            .specialists
            .iter()
            .filter(|s| s.user.lines.iter().any(|l| l.get() == 1))
            .collect();
        line1[self.rng.random_range(0..line1.len())].user.clone()
    }

    async fn token(&mut self, user: &User) -> anyhow::Result<String> {
        if let Some(token) = self.tokens.get(&user.id) {
            return Ok(token.clone());
        }
        // The longest lifetime a token may have: the simulated firm may run for years.
        let request = okno_desk::auth::TokenRequest {
            name: "simulation".into(),
            scope: okno_domain::accounts::TokenScope::Write,
            lifetime: Some(jiff::SignedDuration::from_hours(
                okno_domain::accounts::TOKEN_DAYS_MAX * 24,
            )),
        };
        let token = self.desk.issue_token(user, &request).await?.secret;
        self.tokens.insert(user.id, token.clone());
        Ok(token)
    }

    /// A message from a client as their mail program writes it.
    fn mail(
        &mut self,
        from: &User,
        subject: &str,
        body: &str,
        ticket: Option<TicketId>,
        now: Timestamp,
    ) -> String {
        self.mail_serial += 1;
        let subject = match ticket {
            Some(t) => format!("Re: [{}] {subject}", TicketNumber(t.0)),
            None => subject.to_owned(),
        };
        format!(
            "From: {name} <{email}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n\
             Message-ID: <sim.{serial}@client.sim>\r\nDate: {date}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            name = from.name,
            email = from.email.as_str(),
            serial = self.mail_serial,
            date = jiff::fmt::rfc2822::to_string(&now.to_zoned_datetime(super::moscow()))
                .unwrap_or_default(),
        )
    }

    fn later(&mut self, now: Timestamp, min_minutes: i64, max_minutes: i64) -> Timestamp {
        now + SignedDuration::from_mins(self.rng.random_range(min_minutes..=max_minutes))
    }

    async fn client_events(&mut self, now: Timestamp) -> anyhow::Result<()> {
        while let Some(Reverse((at, event))) = self.events.peek().copied() {
            if at > now {
                break;
            }
            self.events.pop();
            match event {
                Event::Answer(ticket) => self.client_answers(ticket, now, false).await?,
                Event::ReplyClosed(ticket) => self.client_answers(ticket, now, true).await?,
                Event::Rate(ticket) => {
                    let Some(model) = self.tickets.get(&ticket).cloned() else {
                        continue;
                    };
                    let user = self.firm.clients[model.client].contacts[model.contact].clone();
                    let score = self.rng.random_range(3..=5);
                    if refused(self.desk.rate_ticket(&user, ticket, score, "Спасибо").await)?
                        .is_some()
                    {
                        self.counts.ratings += 1;
                        self.touched.insert(ticket);
                    }
                }
            }
        }
        Ok(())
    }

    /// The client writes on `ticket`: the answer to our question, or a word after it was
    /// solved; by mail or on the portal.
    async fn client_answers(
        &mut self,
        ticket: TicketId,
        now: Timestamp,
        after_close: bool,
    ) -> anyhow::Result<()> {
        let Some(model) = self.tickets.get(&ticket).cloned() else {
            return Ok(());
        };
        let user = self.firm.clients[model.client].contacts[model.contact].clone();
        let current = self.desk.ticket(&user, ticket).await?;
        let closed = matches!(
            current.status,
            TicketStatus::Resolved | TicketStatus::Closed
        );
        if !after_close && current.status != TicketStatus::WaitingClient {
            // Auto-closed or moved on before the client got round to it.
            return Ok(());
        }
        let body = if after_close {
            "Проблема повторилась, посмотрите, пожалуйста, ещё раз."
        } else {
            "Отвечаю на ваш вопрос: версия 3.0.150, ошибка на всех рабочих местах."
        };
        if self.rng.random_bool(0.5) {
            let raw = self.mail(&user, &current.subject, body, Some(ticket), now);
            self.desk
                .ingest_mail(&mail_settings(), &Inbox::default(), raw.as_bytes())
                .await?;
        } else if refused(self.desk.comment(&user, ticket, body, false).await)?.is_none() {
            return Ok(());
        }
        self.client_messages.push(ClientMessage {
            ticket,
            at: now,
            after_close: closed,
        });
        if after_close {
            self.counts.replies_to_closed += 1;
        } else {
            self.counts.client_answers += 1;
        }
        self.touched.insert(ticket);
        Ok(())
    }

    /// Specialists at work: finish what is due, then take the top of the queue.
    async fn specialists(&mut self, now: Timestamp) -> anyhow::Result<()> {
        for i in 0..self.firm.specialists.len() {
            if let Some(work) = self.busy[i].clone()
                && work.until <= now
            {
                self.busy[i] = None;
                self.finish(i, &work).await?;
            }
            let calendar = self.firm.specialists[i].calendar;
            let at_work = self
                .desk
                .sla()
                .calendars
                .get(calendar)
                .is_ok_and(|c| c.is_working(now));
            if at_work && self.busy[i].is_none() {
                self.take(i, now).await?;
            }
        }
        Ok(())
    }

    async fn take(&mut self, i: usize, now: Timestamp) -> anyhow::Result<()> {
        let user = self.firm.specialists[i].user.clone();
        let Some(entry) = refused(self.desk.take_next(&user).await)?.flatten() else {
            return Ok(());
        };
        let task = entry.card.task;
        // Someone else's task handed over in bulk, or one already taken: leave it.
        if task.state != TaskState::Open {
            return Ok(());
        }
        if refused(self.desk.start_timer(&user, task.id).await)?.is_none() {
            return Ok(());
        }
        // Work times of a firm staffed for its load (the default firm works off each day's
        // arrivals with about a fifth of its hours to spare).
        let minutes = match task.kind.as_str() {
            "classify" => (5, 20),
            "answer" | "reply" | "reopened" => (10, 40),
            _ => (20, 120),
        };
        let until = self.later(now, minutes.0, minutes.1);
        let stops_timer = self.rng.random_bool(0.6);
        self.touched.insert(task.ticket_id);
        self.busy[i] = Some(Work {
            task: task.id,
            ticket: task.ticket_id,
            kind: task.kind,
            outcomes: entry.card.outcomes,
            until,
            stops_timer,
        });
        Ok(())
    }

    fn choose_outcome(&mut self, work: &Work) -> Option<String> {
        let weights: &[(&str, u32)] = match work.kind.as_str() {
            "classify" => &[
                ("question", 70),
                ("bug", 15),
                ("critical", 5),
                ("improvement", 10),
            ],
            "answer" => &[("closed", 62), ("ask_client", 33), ("reclassify", 5)],
            _ => &[],
        };
        let allowed: Vec<(&str, u32)> = weights
            .iter()
            .copied()
            .filter(|(o, _)| work.outcomes.iter().any(|a| a == o))
            .collect();
        if allowed.is_empty() {
            // Other stages: the first way forward that does not send the work back.
            return work
                .outcomes
                .iter()
                .find(|o| !matches!(o.as_str(), "reclassify" | "declined" | "rejected"))
                .or_else(|| work.outcomes.first())
                .cloned();
        }
        let total: u32 = allowed.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total);
        for (outcome, weight) in allowed {
            if x < weight {
                return Some(outcome.to_owned());
            }
            x -= weight;
        }
        None
    }

    async fn finish(&mut self, i: usize, work: &Work) -> anyhow::Result<()> {
        let user = self.firm.specialists[i].user.clone();
        let now = self.desk.now();
        self.touched.insert(work.ticket);
        if work.stops_timer {
            refused(self.desk.stop_timer(&user).await)?;
        }
        // Line 1 sometimes hands a question on to line 2, with the reason.
        if user.lines.iter().any(|l| l.get() == 1)
            && matches!(work.kind.as_str(), "classify" | "answer")
            && self.rng.random_bool(0.05)
        {
            let reason = "Нужна помощь второй линии: ошибка воспроизводится только у клиента";
            if refused(self.desk.transfer_task(&user, work.task, 2, reason).await)?.is_some() {
                self.counts.transfers += 1;
            }
            return Ok(());
        }
        let Some(outcome) = self.choose_outcome(work) else {
            return Ok(());
        };
        match outcome.as_str() {
            "ask_client" => {
                refused(
                    self.desk
                        .comment(
                            &user,
                            work.ticket,
                            "Уточните, пожалуйста, версию программы.",
                            false,
                        )
                        .await,
                )?;
            }
            "closed" | "done" => {
                refused(
                    self.desk
                        .comment(
                            &user,
                            work.ticket,
                            "Ответ: сделайте так, как описано в статье.",
                            false,
                        )
                        .await,
                )?;
            }
            _ => {}
        }
        let summary = format!("Итог: {outcome}");
        let Some(ticket) = refused(
            self.desk
                .complete_task(&user, work.task, &outcome, Some(&summary))
                .await,
        )?
        else {
            return Ok(());
        };
        self.counts.tasks_completed += 1;
        match ticket.status {
            TicketStatus::WaitingClient => {
                self.counts.asked_client += 1;
                // Three clients in four answer, within minutes to days; the rest go silent.
                if self.rng.random_bool(0.75) {
                    let at = self.later(now, 1, 3 * 24 * 60);
                    self.events.push(Reverse((at, Event::Answer(ticket.id))));
                }
            }
            TicketStatus::Resolved | TicketStatus::Closed => {
                if self.rng.random_bool(0.5) {
                    let at = self.later(now, 30, 2 * 24 * 60);
                    self.events.push(Reverse((at, Event::Rate(ticket.id))));
                }
                if self.rng.random_bool(0.06) {
                    let at = self.later(now, 60, 5 * 24 * 60);
                    self.events
                        .push(Reverse((at, Event::ReplyClosed(ticket.id))));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Managers: their alerts and reviews from the queue; at 11:00 a bulk assignment of
    /// tickets nobody has taken.
    async fn managers(&mut self, time: Time) -> anyhow::Result<()> {
        let manager = self.firm.managers[0].user.clone();
        for _ in 0..20 {
            let Some(entry) = refused(self.desk.take_next(&manager).await)?.flatten() else {
                break;
            };
            let task = entry.card.task;
            let outcome = entry
                .card
                .outcomes
                .first()
                .cloned()
                .unwrap_or_else(|| "done".to_owned());
            self.touched.insert(task.ticket_id);
            if refused(
                self.desk
                    .complete_task(&manager, task.id, &outcome, None)
                    .await,
            )?
            .is_some()
            {
                self.counts.manager_tasks_done += 1;
            } else {
                break;
            }
        }
        // The daily review waits in the manager's workplace until they go through it.
        if let Some(review) = self.desk.reviews().waiting(&manager).await? {
            self.desk.reviews().finish(&manager, review.id).await?;
            self.counts.reviews_done += 1;
        }
        // The 15-minute step that holds 11:00.
        if time >= Time::constant(11, 0, 0, 0) && time < Time::constant(11, 15, 0, 0) {
            self.bulk_assign().await?;
        }
        Ok(())
    }

    async fn bulk_assign(&mut self) -> anyhow::Result<()> {
        let manager = self.firm.managers[0].user.clone();
        let filter = okno_store::TicketFilter {
            status: Some(TicketStatus::New),
            limit: 5,
            ..okno_store::TicketFilter::default()
        };
        let tickets: Vec<TicketId> = self
            .desk
            .tickets(&manager, &filter)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        if tickets.is_empty() {
            return Ok(());
        }
        let line1: Vec<_> = self
            .firm
            .specialists
            .iter()
            .filter(|s| s.user.lines.iter().any(|l| l.get() == 1))
            .map(|s| s.user.id)
            .collect();
        let Some(who) = line1
            .get(self.rng.random_range(0..line1.len().max(1)))
            .copied()
        else {
            return Ok(());
        };
        if let Some(assigned) = refused(self.desk.assign_tickets(&manager, &tickets, &[who]).await)?
        {
            self.counts.bulk_assigned += assigned.assigned.len() as u64;
            self.touched.extend(tickets);
        }
        Ok(())
    }

    /// Sends what the outbox holds to the sink, and queues its Telegram messages.
    pub async fn deliver_mail(&mut self) -> anyhow::Result<()> {
        let sent = self.desk.deliver_mail(&mail_settings(), &self.sink).await?;
        self.counts.mails_sent += sent as u64;
        loop {
            let feed = self.desk.store.telegram_feed(1).await?;
            if feed.outbox.is_empty() && feed.alerts.is_empty() {
                break;
            }
            self.desk.dispatch_telegram().await?;
        }
        Ok(())
    }
}

/// A use case's answer, with the refusals a person meets in normal work (a limit, a task
/// someone else took, a rule) as `None`; store failures stay errors.
fn refused<T>(result: Result<T, DeskError>) -> anyhow::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(DeskError::Domain(
            DomainError::Conflict(_)
            | DomainError::Forbidden(_)
            | DomainError::NotFound(_)
            | DomainError::Invalid(_),
        )) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// A Poisson-distributed count with mean `mean` (Knuth's method; means here are small).
fn poisson(rng: &mut StdRng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    let limit = (-mean).exp();
    let mut product = rng.random::<f64>();
    let mut count = 0;
    while product > limit && count < 1_000 {
        product *= rng.random::<f64>();
        count += 1;
    }
    count
}
