//! What the workplaces read in one go: the manager's figures and charts, ticket ratings and
//! announcements to clients (issue 8). Every query is bounded by an index (migration 0009):
//! a figure is a count over an index range, a chart a group-by over a date range.

use crate::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use okno_domain::*;

/// The manager dashboard's counters, each the size of the list it links to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Open tickets on our side (new or in progress).
    pub in_progress: i64,
    /// Open tickets whose promised next-step date passed while their clock runs.
    pub overdue_tickets: i64,
    /// Open line 2+ tasks past their deadline.
    pub overdue_development: i64,
    /// Tickets classified as a bug (or critical) created in the window.
    pub bugs: i64,
    /// Tasks due today, and how many of them are done.
    pub plan_today: i64,
    pub fact_today: i64,
    /// Tasks due this week, and how many of them are done.
    pub plan_week: i64,
    pub fact_week: i64,
}

/// Where the figures' windows start and end (the caller's zone decides the day).
#[derive(Debug, Clone, Copy)]
pub struct FigureWindow {
    pub now: Timestamp,
    pub day_start: Timestamp,
    pub day_end: Timestamp,
    pub week_start: Timestamp,
    pub week_end: Timestamp,
    pub bugs_since: Timestamp,
}

/// A count for one day; `day` counts days since 1970-01-01 in the caller's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: i64,
    pub count: i64,
}

/// Minutes specialists logged for one client on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientDay {
    pub day: i64,
    pub client_code: String,
    pub minutes: i64,
}

/// One stretch of logged work, for a specialist's day map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkSpan {
    pub user_id: UserId,
    pub user_name: String,
    pub ticket_id: TicketId,
    pub started_at: Timestamp,
    /// `None` while the timer runs.
    pub stopped_at: Option<Timestamp>,
}

/// A client's rating of a solved ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub ticket_id: TicketId,
    pub user_id: UserId,
    pub score: i64,
    pub comment: String,
    pub rated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewAnnouncement {
    pub title: String,
    pub body: String,
    /// Empty: every client.
    pub clients: Vec<ClientId>,
    pub by_mail: bool,
    pub author_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub all_clients: bool,
    pub by_mail: bool,
    pub created_at: Timestamp,
}

/// The tickets behind a dashboard figure (the list a figure links to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketList {
    /// On our side: new or in progress (the "in progress" figure and the board's left total).
    Ours,
    /// On the client's side: waiting for the client or for its confirmation.
    Theirs,
    /// On our side, clock running, promised next step passed by `now`.
    Overdue { now: Timestamp },
    /// Classified as a bug (or critical), created since `since`.
    Bugs { since: Timestamp },
    /// Created (drafts aside) in `[from, to)`.
    Created { from: Timestamp, to: Timestamp },
    /// The client's tickets with work started in `[from, to)`.
    Worked {
        client: ClientId,
        from: Timestamp,
        to: Timestamp,
    },
}

/// The tasks behind a dashboard figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskList {
    /// Due in `[from, to)`, done or not (the plan; the done ones are the fact).
    Due { from: Timestamp, to: Timestamp },
    /// Open line 2+ tasks past their deadline at `now`.
    OverdueDevelopment { now: Timestamp },
}

#[async_trait]
pub trait DashboardStore: Send + Sync {
    /// A figure's tickets, oldest first, after `after` (keyset).
    async fn figure_tickets(
        &self,
        list: &TicketList,
        after: Option<TicketId>,
        limit: u32,
    ) -> Result<Vec<crate::BoardRow>>;
    /// A figure's tasks, oldest first, after `after` (keyset).
    async fn figure_tasks(
        &self,
        list: &TaskList,
        after: Option<TaskId>,
        limit: u32,
    ) -> Result<Vec<Task>>;
    async fn figures(&self, window: &FigureWindow) -> Result<Figures>;
    /// New tickets (drafts aside) per day since `since`, which is taken to the start of its
    /// quarter hour (the counters' slot); `offset_ms` shifts UTC to the viewer's zone.
    async fn tickets_per_day(&self, since: Timestamp, offset_ms: i64) -> Result<Vec<DayCount>>;
    /// Logged minutes per client per day since `since` (running timers count up to `now`).
    async fn minutes_per_client_day(
        &self,
        since: Timestamp,
        now: Timestamp,
        offset_ms: i64,
    ) -> Result<Vec<ClientDay>>;
    /// Work logged in `[from, to)`, by specialist then start.
    async fn work_spans(&self, from: Timestamp, to: Timestamp) -> Result<Vec<WorkSpan>>;
    /// A user's own figures: open tasks assigned, tasks done since `since`.
    async fn personal_figures(&self, user: UserId, since: Timestamp) -> Result<(i64, i64)>;

    async fn rate_ticket(&self, rating: &Rating) -> Result<()>;
    async fn rating(&self, ticket: TicketId) -> Result<Option<Rating>>;

    /// Stores the announcement; with `by_mail`, also one `announcement` outbox row per active
    /// contact it reaches (payload `announcement_id`, `user_id`), in the same transaction.
    async fn add_announcement(&self, a: &NewAnnouncement, at: Timestamp) -> Result<i64>;
    async fn announcement(&self, id: i64) -> Result<Option<Announcement>>;
    /// The newest announcements a client sees (`None`: all of them, for staff).
    async fn announcements(
        &self,
        client: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<Announcement>>;
}
