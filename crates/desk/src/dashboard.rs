//! The workplaces' reads and the few writes they add (issue 8): the manager dashboard's
//! figures and charts, a specialist's own figures, ticket ratings and announcements.

use crate::{Desk, Result, viewer};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use okno_domain::*;
use okno_store::{
    Announcement, BoardRow, ClientDay, DayCount, FigureWindow, Figures, NewAnnouncement, Rating,
    TaskList, TicketList, WorkSpan,
};

/// Days the charts cover.
pub const CHART_DAYS: i64 = 14;
/// Cards per side of the "whose side is the ball" board.
pub const BOARD_LIMIT: u32 = 50;
/// Announcements shown in a feed.
pub const FEED_LIMIT: u32 = 20;
const TITLE_MAX_CHARS: usize = 200;

/// Everything the manager dashboard shows, read in a handful of bounded queries.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub figures: Figures,
    pub alerts: Vec<okno_store::Alert>,
    /// Today (in the viewer's zone) as days since 1970-01-01, the charts' last day.
    pub today: i64,
    pub new_tickets: Vec<DayCount>,
    pub client_minutes: Vec<ClientDay>,
    pub day_start: Timestamp,
    pub work: Vec<WorkSpan>,
    pub board: Vec<BoardRow>,
    /// All open tickets on each side (the board shows at most [`BOARD_LIMIT`]).
    pub ours: i64,
    pub theirs: i64,
}

/// Rows per page of a figure's list.
pub const LIST_PAGE: u32 = 50;

/// A list a dashboard figure links to, named as in its link (`/manager/tickets?list=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FigureList {
    /// `ours` (also the "in progress" figure), `theirs`, `overdue`, `bugs`.
    Tickets(&'static str),
    /// New tickets on a day (days since 1970-01-01 in the viewer's zone).
    Created { day: i64 },
    /// A client's tickets worked on during a day.
    Worked { client: String, day: i64 },
    /// Tasks due `today` or this `week` (the plan), or overdue `development`.
    Tasks(&'static str),
}

impl FigureList {
    /// The list named by a link's `list`, `day` and `client`; `None` for any other name.
    pub fn parse(list: &str, day: Option<i64>, client: Option<&str>) -> Option<FigureList> {
        Some(match (list, day, client) {
            ("created", Some(day), _) => FigureList::Created { day },
            ("worked", Some(day), Some(client)) => FigureList::Worked {
                client: client.to_owned(),
                day,
            },
            (name, _, _) => match ["ours", "theirs", "overdue", "bugs"]
                .iter()
                .find(|n| **n == name)
            {
                Some(name) => FigureList::Tickets(name),
                None => FigureList::Tasks(
                    ["today", "week", "development"]
                        .into_iter()
                        .find(|n| *n == name)?,
                ),
            },
        })
    }
}

/// Start of `now`'s day and week (Monday) in `zone`, and the zone's offset then.
fn window(now: Timestamp, zone: &TimeZone) -> Result<(FigureWindow, i64)> {
    let local = now.to_zoned_datetime(zone.clone());
    let day = local.start_of_day().map_err(internal)?;
    let weekday = i64::from(local.weekday().to_monday_zero_offset());
    let week = day.checked_sub(weekday.days()).map_err(internal)?;
    let day_end = day.checked_add(1.day()).map_err(internal)?;
    let week_end = week.checked_add(7.days()).map_err(internal)?;
    let offset_ms = i64::from(local.offset().seconds()) * 1000;
    Ok((
        FigureWindow {
            now,
            day_start: day.timestamp(),
            day_end: day_end.timestamp(),
            week_start: week.timestamp(),
            week_end: week_end.timestamp(),
            bugs_since: now - SignedDuration::from_hours(24 * CHART_DAYS),
        },
        offset_ms,
    ))
}

fn internal(error: jiff::Error) -> crate::DeskError {
    DomainError::Invalid(FieldError::new("zone", error.to_string())).into()
}

/// The instants `day` (days since 1970-01-01 in `zone`) starts and ends.
fn day_bounds(day: i64, zone: &TimeZone) -> Result<(Timestamp, Timestamp)> {
    let date = jiff::civil::date(1970, 1, 1)
        .checked_add(day.days())
        .map_err(internal)?;
    let start = date.to_zoned_datetime(zone.clone()).map_err(internal)?;
    let end = start.checked_add(1.day()).map_err(internal)?;
    Ok((start.timestamp(), end.timestamp()))
}

impl Desk {
    /// The manager's dashboard as of `now`, days counted in `zone`.
    pub async fn dashboard(
        &self,
        user: &User,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Result<Dashboard> {
        crate::authorize(user, okno_domain::policy::Action::ReadReports)?;
        let (window, offset_ms) = window(now, zone)?;
        let since = window.day_start - SignedDuration::from_hours(24 * (CHART_DAYS - 1));
        let figures = self.store.figures(&window).await?;
        let alerts = self.store.alerts(true).await?;
        let new_tickets = self.store.tickets_per_day(since, offset_ms).await?;
        let client_minutes = self
            .store
            .minutes_per_client_day(since, now, offset_ms)
            .await?;
        let work = self
            .store
            .work_spans(window.day_start, window.day_end)
            .await?;
        let board = self.store.open_ticket_board(BOARD_LIMIT).await?;
        let (ours, theirs) = self.store.open_ticket_counts().await?;
        Ok(Dashboard {
            figures,
            alerts,
            today: (window.now.as_millisecond() + offset_ms).div_euclid(86_400_000),
            new_tickets,
            client_minutes,
            day_start: window.day_start,
            work,
            board,
            ours,
            theirs,
        })
    }

    /// The tickets behind a figure (a page of them after `after`, oldest first), as of
    /// `now` in `zone`; `None` when the list is of tasks.
    pub async fn figure_tickets(
        &self,
        user: &User,
        list: &FigureList,
        zone: &TimeZone,
        now: Timestamp,
        after: Option<TicketId>,
    ) -> Result<Vec<BoardRow>> {
        crate::authorize(user, okno_domain::policy::Action::ReadReports)?;
        let (window, _) = window(now, zone)?;
        let list = match list {
            FigureList::Tickets("ours") => TicketList::Ours,
            FigureList::Tickets("theirs") => TicketList::Theirs,
            FigureList::Tickets("overdue") => TicketList::Overdue { now },
            FigureList::Tickets(_) => TicketList::Bugs {
                since: window.bugs_since,
            },
            FigureList::Created { day } => {
                let (from, to) = day_bounds(*day, zone)?;
                TicketList::Created { from, to }
            }
            FigureList::Worked { client, day } => {
                let client = self
                    .store
                    .client_by_code(client)
                    .await?
                    .ok_or(DomainError::NotFound("client"))?;
                let (from, to) = day_bounds(*day, zone)?;
                TicketList::Worked {
                    client: client.id,
                    from,
                    to,
                }
            }
            FigureList::Tasks(_) => return Ok(Vec::new()),
        };
        Ok(self.store.figure_tickets(&list, after, LIST_PAGE).await?)
    }

    /// The tasks behind a figure (`today`, `week`, `development`), a page after `after`.
    pub async fn figure_tasks(
        &self,
        user: &User,
        list: &FigureList,
        zone: &TimeZone,
        now: Timestamp,
        after: Option<TaskId>,
    ) -> Result<Vec<Task>> {
        crate::authorize(user, okno_domain::policy::Action::ReadReports)?;
        let (w, _) = window(now, zone)?;
        let list = match list {
            FigureList::Tasks("today") => TaskList::Due {
                from: w.day_start,
                to: w.day_end,
            },
            FigureList::Tasks("week") => TaskList::Due {
                from: w.week_start,
                to: w.week_end,
            },
            FigureList::Tasks(_) => TaskList::OverdueDevelopment { now },
            _ => return Ok(Vec::new()),
        };
        Ok(self.store.figure_tasks(&list, after, LIST_PAGE).await?)
    }

    /// A specialist's own figures: open tasks assigned to them, tasks done this month.
    pub async fn my_figures(
        &self,
        user: &User,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Result<(i64, i64)> {
        if !okno_domain::policy::person_allows(user, okno_domain::policy::Action::ReadTasks) {
            return Err(DomainError::NotFound("figures").into());
        }
        let month = now
            .to_zoned_datetime(zone.clone())
            .first_of_month()
            .and_then(|d| d.start_of_day())
            .map_err(internal)?;
        Ok(self
            .store
            .personal_figures(user.id, month.timestamp())
            .await?)
    }

    /// The requester (or a colleague who sees the ticket) rates a resolved or closed ticket.
    pub async fn rate_ticket(
        &self,
        user: &User,
        id: TicketId,
        score: i64,
        comment: &str,
    ) -> Result<Rating> {
        let ticket = self.ticket(user, id).await?;
        crate::authorize(user, okno_domain::policy::Action::RateTicket)?;
        if !matches!(ticket.status, TicketStatus::Resolved | TicketStatus::Closed) {
            return Err(DomainError::Conflict("a ticket is rated once it is solved".into()).into());
        }
        if !(1..=5).contains(&score) {
            return Err(FieldError::new("score", "must be from 1 to 5").into());
        }
        let rating = Rating {
            ticket_id: ticket.id,
            user_id: user.id,
            score,
            comment: parse_text("comment", comment, 2000, false)?,
            rated_at: self.now(),
        };
        self.store.rate_ticket(&rating).await?;
        Ok(rating)
    }

    /// A ticket's rating, for whoever sees the ticket.
    pub async fn ticket_rating(&self, user: &User, id: TicketId) -> Result<Option<Rating>> {
        let ticket = self.ticket(user, id).await?;
        Ok(self.store.rating(ticket.id).await?)
    }

    /// A manager posts news to every client (`clients` empty) or to the listed codes.
    pub async fn announce(
        &self,
        user: &User,
        title: &str,
        body: &str,
        clients: &[String],
        by_mail: bool,
    ) -> Result<i64> {
        crate::authorize(user, okno_domain::policy::Action::ManageReports)?;
        let title = parse_text("title", title, TITLE_MAX_CHARS, true)?;
        let body = parse_text("body", body, BODY_MAX_CHARS, true)?;
        let mut ids = Vec::new();
        for code in clients.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            let client = self
                .store
                .client_by_code(code)
                .await?
                .ok_or_else(|| FieldError::new("clients", format!("no client {code}")))?;
            ids.push(client.id);
        }
        let announcement = NewAnnouncement {
            title,
            body,
            clients: ids,
            by_mail,
            author_id: user.id,
        };
        Ok(self
            .store
            .add_announcement(&announcement, self.now())
            .await?)
    }

    /// The newest announcements the user sees: a client those for everyone or for its
    /// organization; staff all of them.
    pub async fn announcements(&self, user: &User) -> Result<Vec<Announcement>> {
        let client = if viewer(user).is_staff() {
            None
        } else {
            match user.client_id {
                Some(client) => Some(client),
                None => return Ok(Vec::new()),
            }
        };
        Ok(self.store.announcements(client, FEED_LIMIT).await?)
    }
}
