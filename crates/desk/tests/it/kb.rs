//! The knowledge base end to end through the desk (issue 9): shipped articles, audiences,
//! versions, search of articles and tickets within what the caller may see, deflection,
//! answering with an article, the documentation task, and index rebuilding.

use crate::common;

use okno_desk::kb::ArticleForm;
use okno_desk::tickets::TicketInput;
use okno_domain::*;
use okno_store::testing::TestDb;

okno_store::on_both_backends!(
    shipped_articles_and_audiences,
    articles_have_versions_and_sanitized_html,
    tickets_are_searched_within_scope,
    deflection_answer_and_docs_task,
    the_index_is_rebuilt_when_lost
);

fn form(title: &str, body: &str, audience: &str) -> ArticleForm {
    ArticleForm {
        title: title.into(),
        body: body.into(),
        audience: audience.into(),
        status: "published".into(),
        category: "FAQ".into(),
        ..Default::default()
    }
}

fn titles(hits: &[okno_search::ArticleHit]) -> Vec<String> {
    hits.iter().map(|h| h.title.clone()).collect()
}

async fn shipped_articles_and_audiences(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    let desk = &firm.desk;
    desk.search_catch_up().await.unwrap();
    // The mandatory articles ship: support rules (public), staff rules, FAQ (clients).
    let rules = desk
        .article(None, "how-to-work-with-support")
        .await
        .unwrap();
    assert!(rules.html.contains("<table>"), "{}", rules.html);
    assert!(
        desk.article(None, "how-to-work-with-clients")
            .await
            .is_err()
    );
    assert!(
        desk.article(Some(&firm.contact), "how-to-work-with-clients")
            .await
            .is_err()
    );
    assert!(
        desk.article(Some(&firm.line1), "how-to-work-with-clients")
            .await
            .is_ok()
    );
    assert!(desk.article(None, "faq").await.is_err());
    assert!(desk.article(Some(&firm.contact), "faq").await.is_ok());

    let other = db.store.create_client("BETA", "Beta", None).await.unwrap();
    let mut only_beta = form("Релиз 2.0 для Беты", "Файлы релиза", "client");
    only_beta.clients = vec!["BETA".into()];
    let beta_article = desk.create_article(&firm.line1, only_beta).await.unwrap();
    assert_eq!(beta_article.clients, vec![other]);
    desk.create_article(
        &firm.line1,
        form(
            "Регламент дежурств",
            "Внутренний регламент дежурств",
            "staff",
        ),
    )
    .await
    .unwrap();
    desk.search_catch_up().await.unwrap();

    // Search filters by audience inside the index.
    let anon = desk
        .search_articles(None, "регламент", None, false, 10)
        .await
        .unwrap();
    assert!(
        anon.iter().all(|h| h.title != "Регламент дежурств"),
        "{:?}",
        titles(&anon)
    );
    let staff = desk
        .search_articles(Some(&firm.line1), "регламент дежурств", None, false, 10)
        .await
        .unwrap();
    assert_eq!(staff[0].title, "Регламент дежурств");
    let alfa = desk
        .search_articles(Some(&firm.contact), "релиз", None, false, 10)
        .await
        .unwrap();
    assert!(
        alfa.iter().all(|h| h.id != beta_article.id),
        "{:?}",
        titles(&alfa)
    );
    assert!(
        desk.article(Some(&firm.contact), &beta_article.slug)
            .await
            .is_err()
    );
    // Morphology: the shipped FAQ answers a question put in other word forms.
    let faq = desk
        .search_articles(
            Some(&firm.contact),
            "ошибки при закрытии месяца",
            None,
            false,
            5,
        )
        .await
        .unwrap();
    assert_eq!(faq[0].slug, "faq", "{:?}", titles(&faq));
    // Only staff write articles.
    let refused = desk
        .create_article(&firm.contact, form("X", "y", "public"))
        .await;
    assert!(matches!(
        refused,
        Err(okno_desk::DeskError::Domain(DomainError::Forbidden(_)))
    ));
    // The list shows what the reader may read.
    let listed = desk.articles(None, None, None, 100).await.unwrap();
    assert!(listed.iter().all(|a| a.audience == "public"));
    assert!(!listed.is_empty());
}

async fn articles_have_versions_and_sanitized_html(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    let desk = &firm.desk;
    let created = desk
        .create_article(
            &firm.line1,
            form(
                "Печать счёта",
                "Нажмите **Печать**.<script>alert(1)</script>",
                "public",
            ),
        )
        .await
        .unwrap();
    assert_eq!(created.slug, "pechat-scheta");
    assert_eq!(created.version, 1);
    let view = desk.article(None, &created.slug).await.unwrap();
    assert!(view.html.contains("<strong>Печать</strong>"));
    assert!(!view.html.contains("<script"));

    let mut edit = form(
        "Печать счёта",
        "[ссылка](javascript:alert(1)) Новый текст",
        "public",
    );
    edit.slug = Some(created.slug.clone());
    let updated = desk
        .update_article(&firm.line1, created.id, 1, edit.clone())
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(
        !desk
            .article(None, "pechat-scheta")
            .await
            .unwrap()
            .html
            .contains("javascript:")
    );
    // Editing an old version is a conflict naming the version.
    let stale = desk.update_article(&firm.line1, created.id, 1, edit).await;
    assert!(
        matches!(stale, Err(okno_desk::DeskError::Domain(DomainError::Conflict(ref m))) if m.starts_with("version"))
    );
    let versions = desk
        .article_versions(&firm.line1, created.id)
        .await
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert!(versions[1].body.contains("**Печать**"));

    // Bad input names the field.
    let bad = desk
        .create_article(&firm.line1, form("T", "b", "everyone"))
        .await;
    assert!(
        matches!(bad, Err(okno_desk::DeskError::Domain(DomainError::Invalid(ref f))) if f.field == "audience")
    );
    let mut bad_slug = form("T", "b", "public");
    bad_slug.slug = Some("Not a slug".into());
    let bad = desk.create_article(&firm.line1, bad_slug).await;
    assert!(
        matches!(bad, Err(okno_desk::DeskError::Domain(DomainError::Invalid(ref f))) if f.field == "slug")
    );

    // A draft: staff only.
    let mut draft = form("Черновик статьи", "текст", "public");
    draft.status = "draft".into();
    let draft = desk.create_article(&firm.line1, draft).await.unwrap();
    assert!(desk.article(None, &draft.slug).await.is_err());
    assert!(desk.article(Some(&firm.line1), &draft.slug).await.is_ok());
}

async fn open(firm: &common::Firm, user: &User, subject: &str, description: &str) -> Ticket {
    firm.desk
        .open_ticket(
            user,
            TicketInput {
                service: "question".into(),
                subject: subject.into(),
                description: description.into(),
                client: None,
                requester: None,
                draft: false,
            },
        )
        .await
        .unwrap()
}

async fn tickets_are_searched_within_scope(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    let desk = &firm.desk;
    let mine = open(
        &firm,
        &firm.contact,
        "Не закрывается месяц",
        "Ошибка при закрытии месяца",
    )
    .await;
    let theirs = open(
        &firm,
        &firm.other_contact,
        "Месяц не закрывается у коллеги",
        "",
    )
    .await;
    desk.comment(
        &firm.line1,
        mine.id,
        "Пароль администратора: секрет-42",
        true,
    )
    .await
    .unwrap();
    desk.comment(
        &firm.line1,
        mine.id,
        "Проверьте проведение документов",
        false,
    )
    .await
    .unwrap();
    desk.search_catch_up().await.unwrap();

    let ids = |hits: Vec<okno_search::TicketHit>| {
        hits.into_iter().map(|h| TicketId(h.id)).collect::<Vec<_>>()
    };
    let staff = ids(desk
        .search_tickets(&firm.line1, "закрытие месяца", 10)
        .await
        .unwrap());
    assert!(
        staff.contains(&mine.id) && staff.contains(&theirs.id),
        "{staff:?}"
    );
    // Internal comments: staff only; public comments: both.
    assert_eq!(
        ids(desk
            .search_tickets(&firm.line1, "секрет", 10)
            .await
            .unwrap()),
        [mine.id]
    );
    assert!(
        desk.search_tickets(&firm.contact, "секрет", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(desk
            .search_tickets(&firm.contact, "проведение", 10)
            .await
            .unwrap()),
        [mine.id]
    );
    // A contact sees its own tickets only.
    let own = ids(desk
        .search_tickets(&firm.contact, "месяц", 10)
        .await
        .unwrap());
    assert_eq!(own, [mine.id]);
    // Any query answers.
    for q in ["", "\"", "*", "\u{0}", &"я".repeat(100_000)] {
        desk.search_tickets(&firm.line1, q, 10).await.unwrap();
        desk.search_articles(None, q, None, true, 10).await.unwrap();
    }
}

async fn deflection_answer_and_docs_task(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    let desk = &firm.desk;
    let article = desk
        .create_article(
            &firm.line1,
            form("Сброс пароля", "Нажмите «Забыли пароль?»", "client"),
        )
        .await
        .unwrap();
    let staff_only = desk
        .create_article(&firm.line1, form("Пароли серверов", "внутреннее", "staff"))
        .await
        .unwrap();
    desk.search_catch_up().await.unwrap();

    // The client types a ticket; the portal suggests the article; it solves the question.
    let draft = desk
        .open_ticket(
            &firm.contact,
            TicketInput {
                service: "question".into(),
                subject: "Не могу сбросить паро".into(),
                draft: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let suggested = desk
        .suggest_articles(&firm.contact, "Не могу сбросить паро", None)
        .await
        .unwrap();
    assert_eq!(suggested[0].id, article.id);
    assert!(suggested.iter().all(|h| h.id != staff_only.id));
    // Someone else's draft cannot be closed this way.
    assert!(
        desk.article_solved(&firm.other_contact, article.id, Some(draft.id))
            .await
            .is_err()
    );
    desk.article_solved(&firm.contact, article.id, Some(draft.id))
        .await
        .unwrap();
    assert!(
        desk.ticket(&firm.contact, draft.id).await.is_err(),
        "the draft is gone"
    );
    assert_eq!(
        desk.article(Some(&firm.line1), "sbros-parolya")
            .await
            .unwrap()
            .deflections,
        1
    );

    // Staff answer a ticket with the article: a public comment and a link both ways.
    let ticket = open(&firm, &firm.contact, "Пароль", "Забыл пароль").await;
    let refused = desk
        .answer_with_article(&firm.line1, ticket.id, staff_only.id, "")
        .await;
    assert!(
        matches!(refused, Err(okno_desk::DeskError::Domain(DomainError::Invalid(ref f))) if f.field == "article")
    );
    let comment = desk
        .answer_with_article(&firm.line1, ticket.id, article.id, "Вот инструкция:")
        .await
        .unwrap();
    assert!(!comment.internal);
    assert!(
        comment.body.contains("/kb/sbros-parolya"),
        "{}",
        comment.body
    );
    let client_sees = desk.comments(&firm.contact, ticket.id).await.unwrap();
    assert!(client_sees.iter().any(|c| c.id == comment.id));
    let linked = desk
        .ticket_articles(&firm.contact, ticket.id)
        .await
        .unwrap();
    assert_eq!(
        linked.iter().map(|a| a.id).collect::<Vec<_>>(),
        [article.id]
    );
    assert_eq!(
        desk.article_tickets(&firm.line1, article.id).await.unwrap(),
        [ticket.id]
    );
    // A staff-only article linked to the ticket stays hidden from the client.
    desk.link_article(&firm.line1, ticket.id, staff_only.id)
        .await
        .unwrap();
    assert_eq!(
        desk.ticket_articles(&firm.contact, ticket.id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        desk.ticket_articles(&firm.line1, ticket.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        desk.link_article(&firm.contact, ticket.id, article.id)
            .await
            .is_err()
    );

    // The documentation task goes to line 1.
    let task = desk
        .request_docs_update(
            &firm.line2,
            ticket.id,
            Some(article.id),
            "добавить снимки экрана",
        )
        .await
        .unwrap();
    assert_eq!(task.kind, "docs");
    assert_eq!(task.line.map(Line::get), Some(1));
    let (ru, en) = (task.title_in("ru"), task.title_in("en"));
    assert!(
        ru.starts_with("Обновить статью «") && ru.contains("Сброс пароля"),
        "{ru}"
    );
    assert!(
        en.starts_with("Update the article") && en.ends_with(": добавить снимки экрана"),
        "{en}"
    );
    let tasks = desk.ticket_tasks(&firm.line1, ticket.id).await.unwrap();
    assert!(tasks.iter().any(|t| t.id == task.id));
    assert!(
        desk.request_docs_update(&firm.contact, ticket.id, None, "")
            .await
            .is_err()
    );
}

async fn the_index_is_rebuilt_when_lost(db: TestDb) {
    let firm = common::firm(db.store.clone()).await;
    open(&firm, &firm.contact, "Накладная не печатается", "").await;
    firm.desk.search_catch_up().await.unwrap();
    assert_eq!(
        firm.desk
            .search_tickets(&firm.line1, "накладная", 5)
            .await
            .unwrap()
            .len(),
        1
    );
    // Rebuilding from the database gives the same answers.
    let mut calls = 0;
    let (articles, tickets) = firm
        .desk
        .search_reindex(&mut |_, _| calls += 1)
        .await
        .unwrap();
    assert!(articles >= 3, "the shipped articles: {articles}");
    assert_eq!(tickets, 1);
    assert!(calls >= 1);
    assert_eq!(
        firm.desk
            .search_tickets(&firm.line1, "накладная", 5)
            .await
            .unwrap()
            .len(),
        1
    );

    // A desk started on a data directory whose index is corrupt rebuilds it.
    let dir = firm.desk.settings.data_dir.clone();
    let line1 = firm.line1.clone();
    let common::Firm { desk, _files, .. } = firm;
    drop(desk);
    std::fs::write(dir.join("search/tickets/meta.json"), b"garbage").unwrap();
    // The indexer task lets go of the old desk (and the index's write lock) within a moment.
    let mut again = None;
    for _ in 0..100 {
        match okno_desk::Desk::start(db.store.clone(), okno_desk::Settings::new(dir.clone())).await
        {
            Ok(desk) => {
                again = Some(desk);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let again = again.expect("a desk starts on the corrupt index");
    // The index writer is taken on the first write: it too waits for the old indexer to let go.
    let mut caught_up = Err(String::new());
    for _ in 0..100 {
        caught_up = again.search_catch_up().await.map_err(|e| e.to_string());
        if caught_up.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    caught_up.expect("the rebuilt index catches up");
    assert_eq!(
        again
            .search_tickets(&line1, "накладная", 5)
            .await
            .unwrap()
            .len(),
        1
    );
}
