//! The simulated firm: clients on contracts of every support level and calendar, their
//! contacts, specialists on lines 1–3 with skills (some in the accounting pool), managers
//! and an admin — made through the desk's own use cases, as an admin would.

use super::Options;
use anyhow::Context;
use jiff::ToSpan;
use jiff::civil::Date;
use okno_desk::contracts::{ClientInput, ContactInput, ContractInput, LimitInput};
use okno_domain::{Email, Line, Role, User, UserId};
use okno_store::NewUser;
use rand::Rng;
use rand::rngs::StdRng;

/// A client and what the simulation knows of it (the checks read the rest from history).
#[derive(Debug, Clone)]
pub struct Client {
    pub code: String,
    /// `ru-standard` or `nsk-standard`.
    pub calendar: &'static str,
    pub contacts: Vec<User>,
    /// How much the client writes compared with others (1.0 usual).
    pub weight: f64,
    /// The contracts the client has over the run: `(number, level, starts, ends)`.
    pub contracts: Vec<ContractPlan>,
}

#[derive(Debug, Clone)]
pub struct ContractPlan {
    pub number: String,
    pub level: &'static str,
    pub starts: Date,
    pub ends: Date,
    pub hours_per_month: Option<f64>,
    /// Saved in the desk (a contract starting later is signed on its first day).
    pub saved: bool,
}

impl Client {
    /// The support level of the contract in force on `day`, if any.
    pub fn level_on(&self, day: Date) -> Option<&'static str> {
        self.contracts
            .iter()
            .filter(|c| c.saved && c.starts <= day && day <= c.ends)
            .map(|c| c.level)
            .next()
    }
}

/// A member of staff.
#[derive(Debug, Clone)]
pub struct Staff {
    pub user: User,
    /// The calendar the person works by.
    pub calendar: &'static str,
}

pub struct Firm {
    pub admin: User,
    pub managers: Vec<Staff>,
    pub specialists: Vec<Staff>,
    pub clients: Vec<Client>,
}

const LEVELS: [&str; 2] = ["standard", "premium"];
const SKILLS: [&str; 4] = ["accounting", "payroll", "trade", "integration"];

async fn add_user(
    desk: &okno_desk::Desk,
    email: &str,
    name: &str,
    role: Role,
    lines: &[u8],
) -> anyhow::Result<User> {
    let id = desk
        .store
        .create_user(&NewUser {
            email: Email::parse(email).context("email")?,
            name: name.to_owned(),
            role,
            client_id: None,
            lines: lines.iter().filter_map(|n| Line::new(*n).ok()).collect(),
            sees_organization: false,
            password_hash: None,
        })
        .await?;
    user(desk, id).await
}

pub async fn user(desk: &okno_desk::Desk, id: UserId) -> anyhow::Result<User> {
    desk.store
        .user(id)
        .await?
        .with_context(|| format!("user {id} just made"))
}

/// Makes the firm on an empty desk.
pub async fn build(
    desk: &okno_desk::Desk,
    options: &Options,
    rng: &mut StdRng,
) -> anyhow::Result<Firm> {
    let admin = add_user(desk, "admin@sim.okno", "Администратор", Role::Admin, &[]).await?;
    let mut managers = Vec::new();
    for i in 1..=2 {
        let user = add_user(
            desk,
            &format!("manager{i}@sim.okno"),
            &format!("Руководитель {i}"),
            Role::Manager,
            &[],
        )
        .await?;
        managers.push(Staff {
            user,
            calendar: "ru-standard",
        });
    }
    let mut specialists = Vec::new();
    let count = options.specialists.max(3);
    for i in 0..count {
        // Half on line 1, three in ten on line 2, the rest developers; a fifth of line 1
        // works from Novosibirsk.
        let share = f64::from(i) / f64::from(count);
        let line = if share < 0.5 {
            1
        } else if share < 0.8 {
            2
        } else {
            3
        };
        let calendar = if line == 1 && i % 5 == 4 {
            "nsk-standard"
        } else {
            "ru-standard"
        };
        let user = add_user(
            desk,
            &format!("s{i:02}@sim.okno"),
            &format!("Специалист {i:02} (линия {line})"),
            Role::Specialist,
            &[line],
        )
        .await?;
        let skills: Vec<String> = SKILLS
            .iter()
            .filter(|_| rng.random_bool(0.5))
            .map(|s| (*s).to_owned())
            .collect();
        desk.set_skills(&admin, user.id, &skills).await?;
        // Every fourth line-2 specialist also works the accounting pool (documents).
        if line == 2 && i % 4 == 0 {
            desk.store
                .set_user_pools(user.id, &["accounting".to_owned()])
                .await?;
        }
        specialists.push(Staff { user, calendar });
    }

    // About 150 tickets a month per client keeps contacts' daily limits in play.
    let client_count = (options.tickets_per_month / 150).clamp(4, 200);
    let mut clients = Vec::new();
    let start = options.start;
    for i in 0..client_count {
        let code = format!("C{i:03}");
        let calendar = if i % 3 == 2 {
            "nsk-standard"
        } else {
            "ru-standard"
        };
        desk.save_client(
            &admin,
            ClientInput {
                code: code.clone(),
                name: format!("Клиент {i:03}"),
                mail_domain: Some(format!("c{i:03}.sim")),
                calendar: Some(calendar.to_owned()),
                vip: i % 7 == 0,
                ..ClientInput::default()
            },
        )
        .await?;
        let mut contacts = Vec::new();
        for n in 0..3 {
            let (contact, _) = desk
                .save_contact(
                    &admin,
                    ContactInput {
                        client: code.clone(),
                        email: format!("p{n}@c{i:03}.sim"),
                        name: format!("Контакт {n} клиента {i:03}"),
                        phone: Some(format!("+7 495 {i:03}-{n:02}-{:02}", i % 100)),
                        director: n == 0 && i % 4 == 0,
                        ..ContactInput::default()
                    },
                )
                .await?;
            contacts.push(user(desk, contact.id).await?);
        }
        // Contracts: most run through the whole period; some end mid-run (half of those
        // renewed the day after on the other level), some start mid-run.
        let level = LEVELS[i as usize % LEVELS.len()];
        let run_days = i64::from(options.days) * 7 / 5 + 7;
        let mut plans = Vec::new();
        match i % 6 {
            4 => {
                let ends = start.saturating_add((run_days / 2).days());
                plans.push(plan(
                    &code,
                    1,
                    level,
                    start.saturating_sub(60.days()),
                    ends,
                    i,
                ));
                if i % 12 == 4 {
                    let other = LEVELS[(i as usize + 1) % LEVELS.len()];
                    let renewal = ends.tomorrow().unwrap_or(ends);
                    plans.push(plan(
                        &code,
                        2,
                        other,
                        renewal,
                        renewal.saturating_add(1.year()),
                        i,
                    ));
                }
            }
            5 => {
                let starts = start.saturating_add((run_days / 3).days());
                plans.push(plan(
                    &code,
                    1,
                    level,
                    starts,
                    starts.saturating_add(1.year()),
                    i,
                ));
            }
            _ => plans.push(plan(
                &code,
                1,
                level,
                start.saturating_sub(30.days()),
                start.saturating_add(1.year()),
                i,
            )),
        }
        let mut client = Client {
            code,
            calendar,
            contacts,
            weight: 0.5 + rng.random::<f64>(),
            contracts: plans,
        };
        sign_due_contracts(desk, &admin, &mut client, start).await?;
        clients.push(client);
    }
    Ok(Firm {
        admin,
        managers,
        specialists,
        clients,
    })
}

fn plan(code: &str, n: u32, level: &'static str, starts: Date, ends: Date, i: u32) -> ContractPlan {
    ContractPlan {
        number: format!("{code}-{n}"),
        level,
        starts,
        ends,
        // Every third client buys a monthly package of hours.
        hours_per_month: (i % 3 == 1).then_some(20.0),
        saved: false,
    }
}

/// Saves the client's contracts that start by `day` (a contract is signed when it starts,
/// so the desk learns of renewals and new clients mid-run).
pub async fn sign_due_contracts(
    desk: &okno_desk::Desk,
    admin: &User,
    client: &mut Client,
    day: Date,
) -> anyhow::Result<()> {
    for contract in client
        .contracts
        .iter_mut()
        .filter(|c| !c.saved && c.starts <= day)
    {
        let limits = contract
            .hours_per_month
            .map(|hours| LimitInput {
                value: Some(hours),
                unit: Some("hours".into()),
                per: Some("month".into()),
            })
            .into_iter()
            .collect();
        desk.save_contract(
            admin,
            None,
            ContractInput {
                number: contract.number.clone(),
                client: client.code.clone(),
                starts_on: contract.starts.to_string(),
                ends_on: contract.ends.to_string(),
                support_level: Some(contract.level.to_owned()),
                tariff: 30_000.0,
                hourly_rate: 2_500.0,
                after_hours_rate: 3_750.0,
                rounding_minutes: 15,
                limit_reaction: Some("offer_extension".into()),
                limits,
                ..ContractInput::default()
            },
        )
        .await
        .with_context(|| format!("contract {}", contract.number))?;
        contract.saved = true;
    }
    Ok(())
}
