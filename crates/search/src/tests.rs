use super::*;
use okno_domain::{ClientId, UserId};

fn article(id: i64, title: &str, body: &str, audience: Audience) -> ArticleDoc {
    ArticleDoc {
        id,
        slug: format!("a-{id}"),
        title: title.into(),
        body: body.into(),
        category: "faq".into(),
        tags: vec![],
        services: vec![],
        audience,
        clients: vec![],
        published: true,
        updated_ms: now_ms(),
    }
}

fn ticket(id: i64, client: i64, requester: i64, subject: &str, internal: &str) -> TicketDoc {
    TicketDoc {
        id,
        client_id: client,
        requester_id: requester,
        shared: false,
        watchers: vec![],
        subject: subject.into(),
        text: String::new(),
        internal: internal.into(),
        updated_ms: now_ms(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn request(text: &str) -> SearchRequest<'_> {
    SearchRequest {
        text,
        limit: 10,
        now_ms: now_ms(),
        ..Default::default()
    }
}

fn ids(hits: &[ArticleHit]) -> Vec<i64> {
    hits.iter().map(|h| h.id).collect()
}

fn index() -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path(), 1).unwrap();
    (dir, index)
}

#[test]
fn russian_morphology_typos_phrases_and_prefixes() {
    let (_dir, index) = index();
    index
        .put_article(&article(
            1,
            "Ошибка закрытия месяца",
            "Что делать, если месяц не закрывается.",
            Audience::Client,
        ))
        .unwrap();
    index
        .put_article(&article(
            2,
            "Как выгрузить счета",
            "Выгрузка счетов в банк.",
            Audience::Client,
        ))
        .unwrap();
    index
        .put_article(&article(
            3,
            "Closing the month",
            "Month-end errors and how to fix them.",
            Audience::Client,
        ))
        .unwrap();
    index.commit_articles(Some("w")).unwrap();
    let client = Reader::Client(7);
    assert_eq!(
        ids(&index
            .search_articles(client, &request("ошибки при закрытии месяца"))
            .unwrap()),
        [1]
    );
    // A typo still finds it.
    assert_eq!(
        ids(&index
            .search_articles(client, &request("ошибка закрыитя"))
            .unwrap())[0],
        1
    );
    assert_eq!(
        ids(&index
            .search_articles(client, &request("closing month error"))
            .unwrap())[0],
        3
    );
    assert_eq!(
        ids(&index
            .search_articles(client, &request("\"выгрузить счета\""))
            .unwrap()),
        [2]
    );
    assert!(
        index
            .search_articles(client, &request("\"счета выгрузить\""))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&index.search_articles(client, &request("выгруз*")).unwrap()),
        [2]
    );
    let typing = SearchRequest {
        prefix_last: true,
        ..request("как выгр")
    };
    assert_eq!(ids(&index.search_articles(client, &typing).unwrap()), [2]);
    let hit = &index
        .search_articles(client, &request("закрытие месяца"))
        .unwrap()[0];
    assert!(
        hit.title_html.contains("<b>закрытия</b>"),
        "{}",
        hit.title_html
    );
    assert_eq!(index.article_watermark().as_deref(), Some("w"));
}

#[test]
fn audience_is_part_of_the_query() {
    let (_dir, index) = index();
    index
        .put_article(&article(
            1,
            "Регламент public",
            "инструкция",
            Audience::Public,
        ))
        .unwrap();
    index
        .put_article(&article(
            2,
            "Регламент client",
            "инструкция",
            Audience::Client,
        ))
        .unwrap();
    index
        .put_article(&article(
            3,
            "Регламент staff",
            "инструкция",
            Audience::Staff,
        ))
        .unwrap();
    index
        .put_article(&article(4, "Регламент both", "инструкция", Audience::Both))
        .unwrap();
    let mut only_five = article(5, "Регламент for client 5", "инструкция", Audience::Client);
    only_five.clients = vec![5];
    index.put_article(&only_five).unwrap();
    let mut draft = article(6, "Регламент draft", "инструкция", Audience::Public);
    draft.published = false;
    index.put_article(&draft).unwrap();
    index.commit_articles(None).unwrap();
    let sorted = |reader, drafts| {
        let mut found = ids(&index
            .search_articles(
                reader,
                &SearchRequest {
                    drafts,
                    ..request("регламент")
                },
            )
            .unwrap());
        found.sort();
        found
    };
    assert_eq!(sorted(Reader::Anonymous, true), [1]);
    assert_eq!(sorted(Reader::Client(9), true), [1, 2, 4]);
    assert_eq!(sorted(Reader::Client(5), false), [1, 2, 4, 5]);
    assert_eq!(sorted(Reader::Staff, false), [1, 2, 3, 4, 5]);
    assert_eq!(sorted(Reader::Staff, true), [1, 2, 3, 4, 5, 6]);
    // The rule for single articles agrees with the index.
    assert!(Audience::Client.admits(Reader::Client(5), &[5]));
    assert!(!Audience::Client.admits(Reader::Client(9), &[5]));
    assert!(!Audience::Staff.admits(Reader::Client(9), &[]));
    assert!(!Audience::Both.admits(Reader::Anonymous, &[]));
    // Removing and replacing.
    index.remove_article(1).unwrap();
    index
        .put_article(&article(2, "Другое", "текст", Audience::Client))
        .unwrap();
    index.commit_articles(None).unwrap();
    assert_eq!(sorted(Reader::Staff, false), [3, 4, 5]);
}

#[test]
fn ticket_search_respects_scope_and_internal_comments() {
    let (_dir, index) = index();
    index
        .put_ticket(&ticket(
            1,
            10,
            100,
            "Печать счёта не работает",
            "пароль от сервера qwerty",
        ))
        .unwrap();
    index
        .put_ticket(&ticket(2, 10, 101, "Печать накладной", ""))
        .unwrap();
    let mut shared = ticket(3, 10, 102, "Печать счёта у бухгалтера", "");
    shared.shared = true;
    index.put_ticket(&shared).unwrap();
    let mut watched = ticket(4, 10, 103, "Печать счетов", "");
    watched.watchers = vec![100];
    index.put_ticket(&watched).unwrap();
    index
        .put_ticket(&ticket(5, 11, 200, "Печать счетов у другого клиента", ""))
        .unwrap();
    let mut shared_elsewhere = ticket(6, 11, 201, "Печать счетов, общая у другого", "");
    shared_elsewhere.shared = true;
    index.put_ticket(&shared_elsewhere).unwrap();
    index.commit_tickets(Some("t")).unwrap();
    let found = |scope, internal, text: &str| {
        let mut ids: Vec<i64> = index
            .search_tickets(scope, internal, &request(text))
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(found(TicketScope::All, true, "печать"), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        found(TicketScope::Organization(ClientId(10)), false, "печать"),
        [1, 2, 3, 4]
    );
    let own = TicketScope::OwnOrShared {
        client: ClientId(10),
        user: UserId(100),
    };
    // Another client's shared ticket stays that client's.
    assert_eq!(found(own, false, "печать"), [1, 3, 4]);
    // Most of the words (two of three) within the scope, nothing from outside it.
    assert_eq!(found(own, false, "печать счетов бухгалтера"), [1, 3, 4]);
    assert_eq!(
        found(own, false, "печать счетов бухгалтера")[..],
        found(own, false, "бухгалтера счетов печать")[..]
    );
    let best = index
        .search_tickets(own, false, &request("печать счетов бухгалтера"))
        .unwrap();
    assert_eq!(best[0].id, 3, "the ticket with all three words leads");
    assert_eq!(
        found(TicketScope::Nothing, false, "печать"),
        Vec::<i64>::new()
    );
    // Internal comments: staff only.
    assert_eq!(found(TicketScope::All, true, "qwerty"), [1]);
    assert!(found(TicketScope::Organization(ClientId(10)), false, "qwerty").is_empty());
    let hit = &index
        .search_tickets(TicketScope::All, true, &request("qwerty"))
        .unwrap()[0];
    assert!(
        hit.snippet_html.contains("<b>qwerty</b>"),
        "{}",
        hit.snippet_html
    );
}

#[test]
fn any_query_answers() {
    let (_dir, index) = index();
    index
        .put_article(&article(
            1,
            "<script>alert(1)</script> Заголовок",
            "тело",
            Audience::Public,
        ))
        .unwrap();
    index.commit_articles(None).unwrap();
    let weird = [
        "",
        " ",
        "\"",
        "*",
        "**",
        "\u{0}",
        "заголовок\"",
        "ab\"cd\"ef*",
        "-",
        "(",
        "[]{}",
        "AND OR NOT",
        "título",
        "🙂",
        "script",
    ];
    for text in weird {
        index
            .search_articles(Reader::Anonymous, &request(text))
            .unwrap();
        index
            .search_tickets(TicketScope::All, true, &request(text))
            .unwrap();
    }
    let huge = "ё".repeat(1_000_000);
    index
        .search_articles(Reader::Anonymous, &request(&huge))
        .unwrap();
    let hit = &index
        .search_articles(Reader::Anonymous, &request("заголовок"))
        .unwrap()[0];
    assert!(!hit.title_html.contains("<script>"), "{}", hit.title_html);
    assert!(
        hit.title_html.contains("&lt;script&gt;"),
        "{}",
        hit.title_html
    );
}

#[test]
fn a_corrupt_or_missing_index_is_rebuilt_empty() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = SearchIndex::open(dir.path(), 1).unwrap();
        index
            .put_article(&article(1, "Статья", "текст", Audience::Public))
            .unwrap();
        index.commit_articles(Some("5")).unwrap();
    }
    {
        let index = SearchIndex::open(dir.path(), 1).unwrap();
        assert_eq!(index.article_watermark().as_deref(), Some("5"));
        assert_eq!(index.article_count(), 1);
    }
    std::fs::write(dir.path().join("articles/meta.json"), b"{not json").unwrap();
    let index = SearchIndex::open(dir.path(), 1).unwrap();
    assert_eq!(index.article_watermark(), None);
    assert_eq!(index.article_count(), 0);
}

#[test]
fn phrases_match_words_in_order_past_stop_words() {
    let (_dir, index) = index();
    let texts = [
        (1, "Ошибка при закрытии месяца в бухгалтерии"),
        (2, "Закрытие месяца: ошибка в бухгалтерии"),
        (3, "Месяца закрытие, ошибка"),
        (4, "Закрытие квартала и месяца"),
    ];
    for (id, text) in texts {
        index
            .put_article(&article(id, &format!("Статья {id}"), text, Audience::Staff))
            .unwrap();
        index.put_ticket(&ticket(id, 10, 100, text, "")).unwrap();
    }
    index.commit_articles(None).unwrap();
    index.commit_tickets(None).unwrap();
    let articles = |text: &str| {
        let mut found = ids(&index
            .search_articles(Reader::Staff, &request(text))
            .unwrap());
        found.sort();
        found
    };
    let tickets = |scope, internal, text: &str| {
        let mut found: Vec<i64> = index
            .search_tickets(scope, internal, &request(text))
            .unwrap()
            .iter()
            .map(|h| h.id)
            .collect();
        found.sort();
        found
    };
    // Two words in a row, in any word form; a stop word between them does not count.
    assert_eq!(articles("\"закрытие месяца\""), [1, 2]);
    assert_eq!(articles("\"закрытии в месяце\""), [1, 2]);
    // Three words: in a row, in order.
    assert_eq!(articles("\"ошибка закрытия месяца\""), [1]);
    assert_eq!(articles("\"месяца закрытие ошибка\""), [3]);
    assert!(articles("\"месяца ошибка закрытие\"").is_empty());
    // Staff (one field of every word) and clients (subject and public text): the same answers.
    let own = TicketScope::Organization(ClientId(10));
    for (scope, internal) in [(TicketScope::All, true), (own, false)] {
        assert_eq!(tickets(scope, internal, "\"закрытие месяца\""), [1, 2]);
        assert_eq!(tickets(scope, internal, "\"ошибка закрытия месяца\""), [1]);
        assert_eq!(
            tickets(scope, internal, "\"закрытие месяца\" бухгалтерия"),
            [1, 2]
        );
    }
}
