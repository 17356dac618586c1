//! The workplaces' store (issue 8) on SQLite and (with `OKNO_TEST_DATABASE_URL`)
//! PostgreSQL: the manager's figures and charts, ratings and announcements.

use jiff::{SignedDuration, Timestamp};
use okno_domain::*;
use okno_store::testing::TestDb;
use okno_store::*;

okno_store::on_both_backends!(
    figures_and_charts_count_what_they_say,
    ratings_and_announcements
);

struct World {
    alfa: ClientId,
    beta: ClientId,
    contact: UserId,
    dev: UserId,
}

async fn world(store: &dyn Store) -> World {
    store
        .upsert_service(&Service {
            code: "question".into(),
            name_ru: "Вопрос".into(),
            name_en: "Question".into(),
            description_ru: String::new(),
            description_en: String::new(),
            workflow: "question".into(),
            definition: "{}".into(),
            sort_order: 1,
            active: true,
        })
        .await
        .unwrap();
    let alfa = store.create_client("ALFA", "Alfa", None).await.unwrap();
    let beta = store.create_client("BETA", "Beta", None).await.unwrap();
    let person = |email: &str, role: Role, client: Option<ClientId>| NewUser {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        role,
        client_id: client,
        lines: if role == Role::Specialist {
            vec![Line::new(3).unwrap()]
        } else {
            vec![]
        },
        sees_organization: false,
        password_hash: None,
    };
    let contact = store
        .create_user(&person("c@alfa.test", Role::Client, Some(alfa)))
        .await
        .unwrap();
    let dev = store
        .create_user(&person("dev@desk.test", Role::Specialist, None))
        .await
        .unwrap();
    World {
        alfa,
        beta,
        contact,
        dev,
    }
}

fn ticket(w: &World, subject: &str) -> NewTicket {
    NewTicket {
        service: "question".into(),
        subject: subject.into(),
        description: String::new(),
        client_id: w.alfa,
        requester_id: w.contact,
        draft: false,
    }
}

fn task(line: u8, due_at: Timestamp) -> NewTask {
    NewTask {
        kind: "develop".into(),
        title: "Fix".into(),
        line: Some(Line::new(line).unwrap()),
        pool: None,
        assignee_id: None,
        due_at: Some(due_at),
        priority: 75,
        stage: None,
    }
}

const HOUR: SignedDuration = SignedDuration::from_hours(1);

async fn figures_and_charts_count_what_they_say(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let now = Timestamp::now();
    let day_start = now - HOUR * 2;
    let window = FigureWindow {
        now,
        day_start,
        day_end: day_start + HOUR * 24,
        week_start: day_start - HOUR * 48,
        week_end: day_start + HOUR * 24 * 5,
        bugs_since: now - HOUR * 24 * 14,
    };
    let before = store.figures(&window).await.unwrap();
    assert_eq!(before, Figures::default());

    // One ticket three days old, two today; a line 3 task overdue, a line 1 task due today.
    let old = store
        .create_ticket(&ticket(&w, "old"), &[], now - HOUR * 72)
        .await
        .unwrap();
    let overdue = store
        .create_ticket(&ticket(&w, "overdue dev"), &[task(3, now - HOUR)], now)
        .await
        .unwrap();
    store
        .create_ticket(&ticket(&w, "due today"), &[task(1, now + HOUR)], now)
        .await
        .unwrap();
    let figures = store.figures(&window).await.unwrap();
    assert_eq!(figures.in_progress, 3, "{figures:?}");
    assert_eq!(figures.overdue_development, 1);
    assert_eq!((figures.plan_today, figures.fact_today), (2, 0));
    assert_eq!(figures.plan_week, 2);
    assert_eq!(figures.bugs, 0, "nothing is classified yet");

    let days = store
        .tickets_per_day(now - HOUR * 24 * 14, 0)
        .await
        .unwrap();
    let today = now.as_millisecond().div_euclid(86_400_000);
    assert_eq!(days.iter().map(|d| d.count).sum::<i64>(), 3);
    assert_eq!(
        days.last().unwrap(),
        &DayCount {
            day: today,
            count: 2
        }
    );
    let since_today = store.tickets_per_day(now - HOUR, 0).await.unwrap();
    assert_eq!(since_today.iter().map(|d| d.count).sum::<i64>(), 2);

    // Time: 90 minutes on ALFA's tickets today, one running entry of 30 minutes.
    store
        .add_time_entry(w.dev, old.id, None, now - HOUR * 2, Some(now - HOUR))
        .await
        .unwrap();
    store
        .add_time_entry(w.dev, overdue.id, None, now - HOUR / 2, None)
        .await
        .unwrap();
    let minutes = store
        .minutes_per_client_day(now - HOUR * 24, now, 0)
        .await
        .unwrap();
    // Grouped by the day each stretch started: one day, or two just after midnight.
    assert!((1..=2).contains(&minutes.len()), "{minutes:?}");
    assert_eq!(minutes.iter().map(|m| m.minutes).sum::<i64>(), 90);
    assert!(minutes.iter().all(|m| m.client_code == "ALFA"));
    let spans = store.work_spans(now - HOUR * 3, now).await.unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].ticket_id, old.id);
    assert!(spans[1].stopped_at.is_none());
    assert!(store.work_spans(now, now + HOUR).await.unwrap().is_empty());
    assert_eq!(
        store.personal_figures(w.dev, now - HOUR).await.unwrap(),
        (0, 0)
    );
}

async fn ratings_and_announcements(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let now = Timestamp::now();
    let t = store
        .create_ticket(&ticket(&w, "rated"), &[], now)
        .await
        .unwrap();
    assert!(store.rating(t.id).await.unwrap().is_none());
    for score in [3, 5] {
        store
            .rate_ticket(&Rating {
                ticket_id: t.id,
                user_id: w.contact,
                score,
                comment: format!("score {score}"),
                rated_at: now,
            })
            .await
            .unwrap();
    }
    let rating = store.rating(t.id).await.unwrap().unwrap();
    assert_eq!((rating.score, rating.comment.as_str()), (5, "score 5"));

    let to = |title: &str, clients: Vec<ClientId>| NewAnnouncement {
        title: title.into(),
        body: "body".into(),
        clients,
        by_mail: false,
        author_id: w.dev,
    };
    store
        .add_announcement(&to("everyone", vec![]), now)
        .await
        .unwrap();
    store
        .add_announcement(&to("beta only", vec![w.beta]), now + HOUR)
        .await
        .unwrap();
    let titles = |list: Vec<Announcement>| list.into_iter().map(|a| a.title).collect::<Vec<_>>();
    assert_eq!(
        titles(store.announcements(Some(w.alfa), 10).await.unwrap()),
        ["everyone"]
    );
    assert_eq!(
        titles(store.announcements(Some(w.beta), 10).await.unwrap()),
        ["beta only", "everyone"]
    );
    assert_eq!(store.announcements(None, 10).await.unwrap().len(), 2);
    assert_eq!(store.announcements(None, 1).await.unwrap().len(), 1);
}
