//! Planning: a task in one's calendar (planned start and duration), the load per
//! specialist per day against the working hours, an iCalendar feed per specialist behind a
//! secret URL, and personal figures (planned against done, closed, overdue, reopened,
//! hours logged).

use crate::{Desk, Result};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use okno_domain::*;
use okno_store::{PersonalCounts, PlannedTask};
use sha2::{Digest, Sha256};

/// The day `[start, end)` in `zone` that contains `at`.
pub fn day_bounds(zone: &TimeZone, at: Timestamp) -> (Timestamp, Timestamp) {
    let date = at.to_zoned_datetime(zone.clone()).date();
    let start = date
        .to_zoned_datetime(zone.clone())
        .map_or(at, |z| z.timestamp());
    let end = date
        .tomorrow()
        .ok()
        .and_then(|d| d.to_zoned_datetime(zone.clone()).ok())
        .map_or(at, |z| z.timestamp());
    (start, end)
}

/// One specialist's day: what is planned against the working time the calendar gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayLoad {
    pub user: UserId,
    pub name: String,
    pub day: jiff::civil::Date,
    pub planned_minutes: i64,
    pub working_minutes: i64,
    pub planned_tasks: usize,
}

/// Personal figures for today and this week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalFigures {
    pub today: PersonalCounts,
    pub week: PersonalCounts,
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn ical_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

fn ical_instant(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Folds content lines at 75 octets, as RFC 5545 asks.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for ch in line.chars() {
        if width + ch.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(ch);
        width += ch.len_utf8();
    }
    out.push_str("\r\n");
    out
}

/// An iCalendar document of planned tasks.
/// Titles are in `locale`, the feed owner's language.
pub fn ical(tasks: &[PlannedTask], now: Timestamp, host: &str, locale: &str) -> String {
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Okno//Service desk//RU",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:Okno",
    ] {
        out.push_str(&fold(line));
    }
    for task in tasks {
        let end = task
            .planned_at
            .checked_add(PlanMinutes::clamp_stored(task.minutes).max(1).minutes())
            .unwrap_or(task.planned_at);
        let number = TicketNumber(task.ticket.0);
        for line in [
            "BEGIN:VEVENT".to_owned(),
            format!("UID:task-{}@{host}", task.task),
            format!("DTSTAMP:{}", ical_instant(now)),
            format!("DTSTART:{}", ical_instant(task.planned_at)),
            format!("DTEND:{}", ical_instant(end)),
            format!(
                "SUMMARY:{}",
                ical_text(&format!(
                    "{number}: {}",
                    Bilingual::read(&task.title, locale, false)
                ))
            ),
            format!(
                "STATUS:{}",
                if task.state == TaskState::Open {
                    "CONFIRMED"
                } else {
                    "CANCELLED"
                }
            ),
            "END:VEVENT".to_owned(),
        ] {
            out.push_str(&fold(&line));
        }
    }
    out.push_str(&fold("END:VCALENDAR"));
    out
}

impl Desk {
    /// Working minutes of the desk's calendar on the day containing `at`.
    fn working_minutes(&self, from: Timestamp, until: Timestamp) -> i64 {
        self.sla_terms(None, None)
            .map_or(0, |t| t.calendar.working_minutes_between(from, until))
    }

    /// Puts one of the user's tasks into their calendar (`None` takes it out). A plan that
    /// does not fit the day's working hours is refused naming `minutes`.
    pub async fn plan_task(
        &self,
        user: &User,
        task: TaskId,
        plan: Option<(Timestamp, PlanMinutes)>,
    ) -> Result<()> {
        let card = self.task(user, task).await?;
        if card.task.assignee_id != Some(user.id)
            && !okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReassignTasks)
        {
            return Err(
                DomainError::Forbidden("plan your own tasks: take the task first".into()).into(),
            );
        }
        if card.task.state != TaskState::Open {
            return Err(
                DomainError::Conflict(format!("the task is already {}", card.task.state)).into(),
            );
        }
        if let Some((start, minutes)) = plan {
            let minutes = minutes.get();
            let zone = self.desk_zone();
            let (day_start, day_end) = day_bounds(&zone, start);
            let working = self.working_minutes(day_start, day_end);
            if working == 0 {
                return Err(FieldError::new("planned_at", "the day has no working hours").into());
            }
            let assignee = card.task.assignee_id.unwrap_or(user.id);
            let planned: i64 = self
                .store
                .planned_tasks(Some(assignee), day_start, day_end)
                .await?
                .iter()
                .filter(|p| p.task != task)
                .map(|p| PlanMinutes::clamp_stored(p.minutes))
                .fold(0, i64::saturating_add);
            if planned.saturating_add(minutes) > working {
                return Err(FieldError::new(
                    "minutes",
                    format!(
                        "the day has {working} working minutes and {planned} are planned already; {minutes} more do not fit"
                    ),
                )
                .into());
            }
        }
        Ok(self
            .store
            .plan_task(task, plan.map(|(at, minutes)| (at, minutes.get())))
            .await?)
    }

    /// Planned minutes against working minutes per specialist per day, over `days` days from
    /// the day containing `from`; one user or (managers) everyone with a plan.
    pub async fn load(
        &self,
        user: &User,
        who: Option<UserId>,
        from: Timestamp,
        days: u32,
    ) -> Result<Vec<DayLoad>> {
        if !okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadTasks) {
            return Err(DomainError::NotFound("load").into());
        }
        if !(1..=62).contains(&days) {
            return Err(FieldError::new("days", "1 to 62 days").into());
        }
        let who =
            if okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadReports) {
                who
            } else {
                Some(user.id)
            };
        let zone = self.desk_zone();
        let (start, _) = day_bounds(&zone, from);
        let mut bounds = Vec::new();
        let mut day = start;
        for _ in 0..days {
            let (s, e) = day_bounds(&zone, day);
            bounds.push((s, e));
            day = e;
        }
        let until = bounds.last().map_or(start, |b| b.1);
        let planned = self.store.planned_tasks(who, start, until).await?;
        let mut users: Vec<UserId> = planned.iter().map(|p| p.assignee).collect();
        users.extend(who);
        users.sort();
        users.dedup();
        let mut out = Vec::new();
        for id in users {
            let name = self
                .store
                .user(id)
                .await?
                .map(|u| u.name)
                .unwrap_or_default();
            for &(s, e) in &bounds {
                let day_tasks: Vec<_> = planned
                    .iter()
                    .filter(|p| p.assignee == id && p.planned_at >= s && p.planned_at < e)
                    .collect();
                out.push(DayLoad {
                    user: id,
                    name: name.clone(),
                    day: s.to_zoned_datetime(zone.clone()).date(),
                    planned_minutes: day_tasks
                        .iter()
                        .map(|p| PlanMinutes::clamp_stored(p.minutes))
                        .fold(0, i64::saturating_add),
                    working_minutes: self.working_minutes(s, e),
                    planned_tasks: day_tasks.len(),
                });
            }
        }
        Ok(out)
    }

    /// The user's own planned tasks starting in `[from, until)` (the planning page's week).
    pub async fn my_plan(
        &self,
        user: &User,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<PlannedTask>> {
        if !okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadTasks) {
            return Err(DomainError::NotFound("plan").into());
        }
        Ok(self.store.planned_tasks(Some(user.id), from, until).await?)
    }

    /// A new secret for the user's calendar feed (the old URL stops working); answers the
    /// secret, shown once.
    pub async fn new_calendar_feed(&self, user: &User) -> Result<String> {
        if !okno_domain::policy::person_allows(user, okno_domain::policy::Action::WorkTasks) {
            return Err(DomainError::NotFound("calendar").into());
        }
        let secret = hex::encode(rand::random::<[u8; 32]>());
        self.store
            .set_calendar_feed(user.id, &sha256(&secret), self.now())
            .await?;
        Ok(secret)
    }

    /// The iCalendar feed behind a secret: planned tasks from 30 days back to 90 ahead.
    pub async fn calendar_feed(&self, secret: &str, host: &str) -> Result<String> {
        let user = self
            .store
            .calendar_feed_user(&sha256(secret))
            .await?
            .ok_or(DomainError::NotFound("calendar"))?;
        let now = self.now();
        let from = now
            .checked_sub(jiff::SignedDuration::from_hours(30 * 24))
            .unwrap_or(now);
        let until = now
            .checked_add(jiff::SignedDuration::from_hours(90 * 24))
            .unwrap_or(now);
        let tasks = self.store.planned_tasks(Some(user), from, until).await?;
        let locale = self.store.user(user).await?.map(|u| u.locale);
        Ok(ical(&tasks, now, host, locale.as_deref().unwrap_or("ru")))
    }

    /// Planned against done today and this week (days in the desk's time zone, weeks from
    /// Monday), tasks closed, overdue, reopened, time logged.
    pub async fn personal_figures(
        &self,
        user: &User,
        who: Option<UserId>,
    ) -> Result<PersonalFigures> {
        if !okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadTasks) {
            return Err(DomainError::NotFound("figures").into());
        }
        let who = match who {
            Some(w)
                if okno_domain::policy::person_allows(
                    user,
                    okno_domain::policy::Action::ReadReports,
                ) =>
            {
                w
            }
            _ => user.id,
        };
        let zone = self.desk_zone();
        let now = self.now();
        let (day_start, day_end) = day_bounds(&zone, now);
        let today = day_start.to_zoned_datetime(zone.clone()).date();
        let back = i64::from(today.weekday().to_monday_zero_offset());
        let monday = today.checked_sub(back.days()).unwrap_or(today);
        let week_start = monday
            .to_zoned_datetime(zone.clone())
            .map_or(day_start, |z| z.timestamp());
        let week_end = monday
            .checked_add(7.days())
            .ok()
            .and_then(|d| d.to_zoned_datetime(zone.clone()).ok())
            .map_or(day_end, |z| z.timestamp());
        Ok(PersonalFigures {
            today: self
                .store
                .personal_counts(who, day_start, day_end, now)
                .await?,
            week: self
                .store
                .personal_counts(who, week_start, week_end, now)
                .await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ical_has_one_event_per_planned_task_and_folds_long_lines() {
        let at: Timestamp = "2026-11-25T07:00:00Z".parse().unwrap();
        let task = PlannedTask {
            task: TaskId(7),
            ticket: TicketId(42),
            assignee: UserId(1),
            title: "Разобрать ошибку; длинное название, которое не влезает в одну строку календаря"
                .into(),
            state: TaskState::Open,
            planned_at: at,
            minutes: 90,
        };
        let text = ical(&[task], at, "okno.test", "ru");
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
        assert!(text.contains("UID:task-7@okno.test\r\n"));
        assert!(text.contains("DTSTART:20261125T070000Z\r\nDTEND:20261125T083000Z\r\n"));
        assert!(text.contains("ошибку\\;"), "{text}");
        assert!(text.lines().all(|l| l.len() <= 75), "{text}");
    }

    #[test]
    fn day_bounds_follow_the_zone() {
        let zone = TimeZone::get("Europe/Moscow").unwrap();
        let (s, e) = day_bounds(&zone, "2026-11-25T22:30:00Z".parse().unwrap());
        assert_eq!(s.to_string(), "2026-11-25T21:00:00Z");
        assert_eq!(e.to_string(), "2026-11-26T21:00:00Z");
    }
}
