//! The demo firm (CONTRACT.md): staff on lines 1–3, clients ALFA and BETA, and tickets in
//! several states, so a newcomer sees a live desk at once. Loading twice changes nothing.

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use okno_desk::Desk;
use okno_desk::tickets::TicketInput;
use okno_domain::*;
use okno_store::{Claim, NewUser};

pub const LOGINS: &[&str] = &[
    "admin@demo.okno",
    "manager@demo.okno",
    "line1@demo.okno",
    "line2@demo.okno",
    "dev@demo.okno",
    "client@alfa.demo",
    "client@beta.demo",
];

const PASSWORD: &str = "demo";

/// (service, subject, description) of the demo's client questions.
const QUESTIONS: &[(&str, &str, &str)] = &[
    (
        "question",
        "Не формируется счёт-фактура",
        "При проведении реализации счёт-фактура не создаётся автоматически, хотя флажок стоит.",
    ),
    (
        "question",
        "Ошибка при обновлении конфигурации",
        "После обновления до новой версии программа пишет «Ошибка при выполнении запроса» на старте.",
    ),
    (
        "question",
        "Как настроить права для бухгалтера?",
        "Новому сотруднику нужен доступ только к кассовым документам.",
    ),
    (
        "question",
        "Медленно открывается журнал документов",
        "Журнал реализаций открывается больше минуты, раньше было быстро.",
    ),
    (
        "question",
        "Не печатается товарная накладная",
        "При печати ТОРГ-12 ничего не происходит, другие формы печатаются.",
    ),
    (
        "question",
        "Предложение: выгрузка отчёта в Excel",
        "Было бы удобно выгружать отчёт по продажам сразу в Excel с форматированием.",
    ),
    (
        "question",
        "Не приходят письма с уведомлениями",
        "Со вчерашнего дня не получаем уведомления о новых заказах.",
    ),
    (
        "question",
        "Вопрос по расчёту отпускных",
        "Почему в расчёте отпускных не учтена премия за квартал?",
    ),
    (
        "documents",
        "Акт сверки за III квартал",
        "Пришлите, пожалуйста, акт сверки взаиморасчётов за III квартал.",
    ),
    (
        "documents",
        "Копия договора поддержки",
        "Нужна скан-копия действующего договора для аудиторов.",
    ),
    (
        "license-key",
        "Ключ для нового рабочего места",
        "Подключаем ещё одно рабочее место в бухгалтерии.",
    ),
    (
        "question",
        "Программа закрывается при проведении документа",
        "Критично: не можем провести ни одну реализацию, программа падает.",
    ),
];

const REPLIES: &[&str] = &[
    "Спасибо, посмотрим и вернёмся с ответом.",
    "Пришлите, пожалуйста, скриншот ошибки и версию программы.",
    "Проверили на копии базы — воспроизводится, передали разработчикам.",
];

/// The claim several processes started together with `--demo` make: one loads the firm,
/// the others wait for it (issue 24).
const CLAIM: &str = "demo-firm";
/// A loader that has not finished in this long is taken to have died: another takes over.
const LEASE: SignedDuration = SignedDuration::from_mins(10);
/// How often a process waiting for another's load looks again.
const POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Loads the demo firm once per database, however many processes start with `--demo` at
/// the same moment: the first claims the load in the database, the others wait until it is
/// done and load nothing.
pub async fn load(desk: &Desk) -> anyhow::Result<()> {
    let terms = okno_store::ClaimTerms {
        lease: LEASE,
        keep: None,
    };
    loop {
        match desk.store.claim_once(CLAIM, terms, desk.now()).await? {
            Claim::Done(_) => return Ok(()),
            Claim::Pending => tokio::time::sleep(POLL).await,
            Claim::Won => break,
        }
    }
    match load_firm(desk).await {
        Ok(()) => {
            desk.store.finish_once(CLAIM, 1).await?;
            Ok(())
        }
        Err(error) => {
            desk.store.release_once(CLAIM).await?;
            Err(error)
        }
    }
}

async fn load_firm(desk: &Desk) -> anyhow::Result<()> {
    let store = &desk.store;
    // Loaded before the load was claimed in the database.
    if store
        .user_by_email(&Email::parse("admin@demo.okno")?)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let alfa = store
        .create_client("ALFA", "ООО «Альфа»", Some("alfa.demo"))
        .await?;
    let beta = store
        .create_client("BETA", "АО «Бета»", Some("beta.demo"))
        .await?;
    let hash = okno_desk::auth::hash_password(PASSWORD)?;
    let person = |email: &str,
                  name: &str,
                  role: Role,
                  client: Option<ClientId>,
                  lines: &[u8]|
     -> anyhow::Result<NewUser> {
        Ok(NewUser {
            email: Email::parse(email)?,
            name: name.to_owned(),
            role,
            client_id: client,
            lines: lines
                .iter()
                .map(|&n| Line::new(n))
                .collect::<Result<_, _>>()?,
            sees_organization: false,
            password_hash: Some(hash.clone()),
        })
    };
    let people = [
        person("admin@demo.okno", "Администратор", Role::Admin, None, &[])?,
        person(
            "manager@demo.okno",
            "Мария Руководова",
            Role::Manager,
            None,
            &[],
        )?,
        person(
            "line1@demo.okno",
            "Лена Первова",
            Role::Specialist,
            None,
            &[1],
        )?,
        person(
            "line2@demo.okno",
            "Виктор Вторых",
            Role::Specialist,
            None,
            &[2],
        )?,
        person(
            "dev@demo.okno",
            "Дмитрий Разработкин",
            Role::Specialist,
            None,
            &[3],
        )?,
        person(
            "client@alfa.demo",
            "Анна Альфина",
            Role::Client,
            Some(alfa),
            &[],
        )?,
        person(
            "client@beta.demo",
            "Борис Бетов",
            Role::Client,
            Some(beta),
            &[],
        )?,
        person(
            "buh@alfa.demo",
            "Галина Счётова",
            Role::Client,
            Some(alfa),
            &[],
        )?,
    ];
    let mut ids = Vec::new();
    for p in &people {
        ids.push(
            store
                .create_user(p)
                .await
                .with_context(|| format!("demo user {}", p.email))?,
        );
    }
    let (line1, alfa_contact, beta_contact, alfa_accountant) = (ids[2], ids[5], ids[6], ids[7]);
    // The caller a PBX's lookup finds (issue 20).
    store
        .upsert_contact(&okno_store::ContactUpsert {
            client_id: alfa,
            email: Email::parse("client@alfa.demo")?,
            name: "Анна Альфина".into(),
            phone: Some("+7 495 111-22-33".into()),
            telegram_id: None,
            sees_organization: false,
            director: false,
            external_id: None,
        })
        .await
        .context("demo phone of client@alfa.demo")?;

    // Tickets over the last four weeks; BETA's never today, so its daily limit is untouched.
    let now = desk.now();
    for (i, (service, subject, description)) in QUESTIONS.iter().cycle().take(48).enumerate() {
        let (client, requester) = match i % 4 {
            0 | 2 => (alfa, alfa_contact),
            1 => (alfa, alfa_accountant),
            _ => (beta, beta_contact),
        };
        let age = SignedDuration::from_hours(2 + (i as i64 * 13) % (24 * 27))
            + SignedDuration::from_hours(24);
        let ticket = NewTicket {
            service: service.to_string(),
            subject: subject.to_string(),
            description: description.to_string(),
            client_id: client,
            requester_id: requester,
            draft: i == 7,
        };
        let created = store.create_ticket(&ticket, &[], now - age).await?;
        if i % 3 == 0 && !ticket.draft {
            let reply = NewComment {
                ticket_id: created.id,
                author_id: line1,
                body: REPLIES[i % REPLIES.len()].into(),
                internal: false,
            };
            store
                .add_comment(&reply, now - age + SignedDuration::from_mins(40))
                .await?;
            let note = NewComment {
                ticket_id: created.id,
                author_id: line1,
                body: "Клиент на старой версии, проверить релиз 3.0.12.".into(),
                internal: true,
            };
            store
                .add_comment(&note, now - age + SignedDuration::from_mins(45))
                .await?;
        }
    }

    // Role pools of the shipped workflows: repair stages, documents, license keys.
    let pools = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    store
        .set_user_pools(ids[3], &pools(&["engineer", "master", "quality"]))
        .await?;
    store
        .set_user_pools(ids[1], &pools(&["accounting", "licensing"]))
        .await?;

    let admin = store.user(ids[0]).await?.context("demo admin")?;
    contracts(desk, &admin, now).await?;

    // Today's questions from ALFA run their real routes, so every line has work waiting.
    let contact = store.user(alfa_contact).await?.context("demo contact")?;
    let line1_user = store.user(line1).await?.context("demo line 1")?;
    let mut opened = Vec::new();
    for (service, subject, description) in QUESTIONS.iter().filter(|q| q.0 != "license-key").take(8)
    {
        let input = TicketInput {
            service: service.to_string(),
            subject: subject.to_string(),
            description: description.to_string(),
            client: None,
            requester: None,
            draft: false,
        };
        opened.push(desk.open_ticket(&contact, input).await?);
    }
    // Line 1 has classified two of them: a bug goes to development, a question gets answered.
    for (ticket, outcome) in opened.iter().zip(["bug", "question"]) {
        let tasks = store.tasks(ticket.id).await?;
        let Some(classify) = tasks.iter().find(|t| t.kind == "classify") else {
            continue;
        };
        let summary = "Воспроизводится на копии базы клиента: шаги в описании.";
        desk.complete_task(&line1_user, classify.id, outcome, Some(summary))
            .await?;
    }
    Ok(())
}

/// Contracts in every state (issue 6): ALFA active with keys and hours, BETA active with
/// 3 tickets per contact per day refused beyond; GAMMA ending in 10 days with no
/// successor; DELTA expired (support switched off); OMEGA over its hour limit.
async fn contracts(desk: &Desk, admin: &User, now: Timestamp) -> anyhow::Result<()> {
    use okno_desk::contracts::{ClientInput, ContactInput, ContractInput, LimitInput};
    let today = now
        .to_zoned_datetime(okno_desk::contracts::zone_of(None))
        .date();
    let day = |days: i64| {
        today
            .saturating_add(jiff::Span::new().days(days))
            .to_string()
    };
    let limit = |value: f64, unit: &str, per: &str| LimitInput {
        value: Some(value),
        unit: Some(unit.into()),
        per: Some(per.into()),
    };
    for (code, name, domain) in [
        ("GAMMA", "ООО «Гамма»", "gamma.demo"),
        ("DELTA", "ИП Дельтов", "delta.demo"),
        ("OMEGA", "ЗАО «Омега»", "omega.demo"),
    ] {
        desk.save_client(
            admin,
            ClientInput {
                code: code.into(),
                name: name.into(),
                mail_domain: Some(domain.into()),
                access_notes: "RDP: через VPN клиента, учётка support".into(),
                external_id: Some(format!("1c-{}", code.to_lowercase())),
                ..ClientInput::default()
            },
        )
        .await?;
        desk.save_contact(
            admin,
            ContactInput {
                client: code.into(),
                email: format!("client@{domain}"),
                name: format!("Контакт {name}"),
                ..ContactInput::default()
            },
        )
        .await?;
    }
    let contract = |number: &str, client: &str, from: i64, to: i64| ContractInput {
        number: number.into(),
        client: client.into(),
        starts_on: day(from),
        ends_on: day(to),
        tariff: 25_000.0,
        hourly_rate: 2_500.0,
        after_hours_rate: 3_750.0,
        rounding_minutes: 15,
        ..ContractInput::default()
    };
    let contracts = [
        ContractInput {
            limits: vec![
                limit(10.0, "hours", "month"),
                limit(5.0, "license_keys", "period"),
            ],
            limit_reaction: Some("offer_extension".into()),
            ..contract("ИТС-2026/ALFA", "ALFA", -200, 165)
        },
        ContractInput {
            limits: vec![limit(3.0, "tickets", "contact_day")],
            limit_reaction: Some("refuse".into()),
            ..contract("ИТС-2026/BETA", "BETA", -100, 265)
        },
        contract("ИТС-2026/GAMMA", "GAMMA", -355, 10),
        contract("ИТС-2025/DELTA", "DELTA", -400, -35),
        ContractInput {
            limits: vec![limit(1.0, "hours", "month")],
            limit_reaction: Some("accept_and_flag".into()),
            ..contract("ИТС-2026/OMEGA", "OMEGA", -30, 335)
        },
    ];
    for c in contracts {
        desk.save_contract(admin, None, c)
            .await
            .context("demo contract")?;
    }
    // OMEGA's specialists already spent two hours this month: over its one-hour limit.
    let omega = desk
        .store
        .client_by_code("OMEGA")
        .await?
        .context("demo client OMEGA")?;
    let contact = desk
        .store
        .user_by_email(&Email::parse("client@omega.demo")?)
        .await?
        .context("OMEGA contact")?
        .0;
    let ticket = desk
        .store
        .create_ticket(
            &NewTicket {
                service: "question".into(),
                subject: "Настроить обмен с банком".into(),
                description: "Нужен обмен выписками с банком.".into(),
                client_id: omega.id,
                requester_id: contact.id,
                draft: false,
            },
            &[],
            now - SignedDuration::from_hours(3),
        )
        .await?;
    let started = okno_desk::contracts::month_bounds(today, &okno_desk::contracts::zone_of(None)).0;
    let started = started.max(now - SignedDuration::from_hours(3));
    desk.store
        .add_time_entry(
            admin.id,
            ticket.id,
            None,
            started,
            Some(started + SignedDuration::from_hours(2)),
        )
        .await?;
    Ok(())
}
