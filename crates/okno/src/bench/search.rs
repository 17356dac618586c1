//! `okno bench search`: indexes 100,000 generated articles and 1,000,000 generated tickets
//! (Russian and English text) into a fresh search index, then runs a mix of queries (words
//! in other forms, typos, phrases, prefixes; as a client, as staff, over tickets within a
//! client's scope) and reports the indexing rate and query latency.
//! Targets (issue 9): indexing ≥ 5,000 documents/s, query p99 < 20 ms.

use super::Figure;
use okno_domain::{ClientId, TicketScope, UserId};
use okno_search::{ArticleDoc, Audience, Reader, SearchIndex, SearchRequest, TicketDoc};
use std::io::Write;
use std::time::Instant;

/// Prints a one-line progress bar on stderr (`okno search reindex` uses it too).
pub fn progress_bar(done: usize, total: usize) {
    let total = total.max(done).max(1);
    let filled = done * 30 / total;
    eprint!(
        "\r[{}{}] {done}/{total} ({}%)",
        "#".repeat(filled),
        " ".repeat(30 - filled),
        done * 100 / total
    );
    let _ = std::io::stderr().flush();
}

const RU: &[&str] = &[
    "ошибка",
    "ошибки",
    "закрытие",
    "закрытия",
    "месяца",
    "месяц",
    "отчёт",
    "отчета",
    "счёт",
    "счета",
    "накладная",
    "накладной",
    "печать",
    "печати",
    "документ",
    "документы",
    "проведение",
    "проводки",
    "остатки",
    "склад",
    "склада",
    "номенклатура",
    "контрагент",
    "контрагента",
    "договор",
    "договора",
    "оплата",
    "оплаты",
    "банк",
    "выписка",
    "выгрузка",
    "загрузка",
    "обмен",
    "сервер",
    "пароль",
    "пользователь",
    "пользователя",
    "права",
    "доступ",
    "обновление",
    "обновления",
    "релиз",
    "версия",
    "база",
    "данных",
    "зарплата",
    "зарплаты",
    "отпуск",
    "сотрудник",
    "сотрудника",
    "налог",
    "декларация",
    "ндс",
    "касса",
    "кассовый",
    "чек",
    "лицензия",
    "ключ",
    "клиент",
    "поддержка",
    "заявка",
    "не",
    "работает",
    "открывается",
    "зависает",
    "медленно",
    "сегодня",
    "срочно",
    "помогите",
    "после",
    "при",
    "в",
    "и",
    "как",
    "настроить",
    "исправить",
    "проверить",
    "сформировать",
    "провести",
    "удалить",
    "создать",
    "бухгалтерия",
    "торговля",
    "управление",
    "производство",
    "себестоимость",
    "расчёт",
    "расчета",
    "регламентный",
    "период",
    "квартал",
    "года",
    "ведомость",
    "реализация",
    "поступление",
    "возврат",
    "акт",
    "сверки",
    "взаиморасчеты",
    "задолженность",
    "кредит",
];

const EN: &[&str] = &[
    "error",
    "errors",
    "closing",
    "month",
    "report",
    "reports",
    "invoice",
    "invoices",
    "print",
    "printing",
    "document",
    "documents",
    "posting",
    "stock",
    "warehouse",
    "item",
    "customer",
    "contract",
    "payment",
    "payments",
    "bank",
    "statement",
    "export",
    "import",
    "exchange",
    "server",
    "password",
    "user",
    "users",
    "access",
    "rights",
    "update",
    "release",
    "version",
    "database",
    "salary",
    "vacation",
    "employee",
    "tax",
    "return",
    "cash",
    "register",
    "receipt",
    "license",
    "key",
    "support",
    "request",
    "not",
    "working",
    "slow",
    "hangs",
    "today",
    "urgent",
    "please",
    "after",
    "when",
    "how",
    "to",
    "configure",
    "fix",
    "check",
    "create",
    "delete",
    "accounting",
    "trade",
    "production",
    "cost",
    "calculation",
    "period",
    "quarter",
    "year",
    "sales",
    "purchase",
    "reconciliation",
    "debt",
    "credit",
    "balance",
    "ledger",
    "journal",
];

/// A tiny deterministic generator (xorshift): the same data every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn text(&mut self, words: usize) -> String {
        let vocab = if self.below(4) == 0 { EN } else { RU };
        let mut out = String::with_capacity(words * 9);
        for i in 0..words {
            if i > 0 {
                out.push(' ');
            }
            // A rare word now and then, so some terms are selective.
            if self.below(12) == 0 {
                out.push_str(&format!(
                    "{}{}",
                    vocab[self.below(vocab.len())],
                    self.below(5000)
                ));
            } else {
                out.push_str(vocab[self.below(vocab.len())]);
            }
        }
        out
    }
}

const QUERIES: &[&str] = &[
    "ошибки при закрытии месяца",
    "ошибка закрытия месяца",
    "печать накладной",
    "не печатается счёт",
    "выгрузка в банк",
    "\"закрытие месяца\"",
    "обнов*",
    "контраг*",
    "пароль пользователя",
    "сверки взаиморасчеты",
    "ошибкаа закрытя",
    "себестоимасть",
    "month closing error",
    "invoice printing",
    "\"bank statement\"",
    "reconcil*",
    "pasword reset",
    "зарплата отпуск сотрудника",
    "ндс декларация квартал",
    "склад остатки номенклатура",
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub async fn run(quick: bool) -> anyhow::Result<Vec<Figure>> {
    tokio::task::spawn_blocking(move || run_blocking(quick)).await?
}

fn run_blocking(quick: bool) -> anyhow::Result<Vec<Figure>> {
    let (articles, tickets, rounds) = if quick {
        (2_000usize, 20_000usize, 3usize)
    } else {
        (100_000, 1_000_000, 10)
    };
    let dir = tempfile::tempdir()?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 4);
    let index = SearchIndex::open(dir.path(), threads)?;
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let now = jiff::Timestamp::now().as_millisecond();
    let started = Instant::now();
    for id in 0..articles as i64 {
        let audience = match g.below(4) {
            0 => Audience::Public,
            1 => Audience::Client,
            2 => Audience::Staff,
            _ => Audience::Both,
        };
        index.put_article(&ArticleDoc {
            id,
            slug: format!("article-{id}"),
            title: g.text(6),
            body: g.text(120),
            category: "faq".into(),
            tags: vec![],
            services: vec![],
            audience,
            clients: if g.below(10) == 0 {
                vec![g.below(500) as i64]
            } else {
                vec![]
            },
            published: g.below(20) != 0,
            updated_ms: now - g.below(1_000) as i64 * 86_400_000,
        })?;
    }
    index.commit_articles(Some("bench"))?;
    let total = articles + tickets;
    for id in 0..tickets as i64 {
        index.put_ticket(&TicketDoc {
            id,
            client_id: g.below(500) as i64,
            requester_id: g.below(5_000) as i64,
            shared: g.below(3) == 0,
            watchers: vec![],
            subject: g.text(7),
            text: g.text(40),
            internal: if g.below(3) == 0 {
                g.text(15)
            } else {
                String::new()
            },
            updated_ms: now - g.below(1_000) as i64 * 86_400_000,
        })?;
        if id % 20_000 == 0 {
            progress_bar(articles + id as usize, total);
        }
    }
    index.commit_tickets(Some("bench"))?;
    // The merges the load started are part of indexing; searches then meet the index as a
    // running desk has it.
    index.settle()?;
    let indexing = started.elapsed().as_secs_f64();
    progress_bar(total, total);
    eprintln!();
    let rate = total as f64 / indexing;
    let (article_segments, ticket_segments) = index.segments();
    eprintln!("segments: {article_segments} article, {ticket_segments} ticket");

    let mut article_ms = Vec::new();
    let mut ticket_ms = Vec::new();
    let mut found = 0usize;
    let mut slowest = Vec::new();
    let readers = [Reader::Client(7), Reader::Staff, Reader::Anonymous];
    for round in 0..rounds {
        for (i, q) in QUERIES.iter().enumerate() {
            let request = SearchRequest {
                text: q,
                limit: 10,
                prefix_last: round % 2 == 1,
                service: None,
                drafts: false,
                now_ms: jiff::Timestamp::now().as_millisecond(),
            };
            let reader = readers[(i + round) % readers.len()];
            let t = Instant::now();
            found += index.search_articles(reader, &request)?.len();
            article_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            let scope = if (i + round) % 2 == 0 {
                TicketScope::All
            } else {
                TicketScope::OwnOrShared {
                    client: ClientId((i * 7 % 500) as i64),
                    user: UserId(i as i64),
                }
            };
            let t = Instant::now();
            found += index
                .search_tickets(scope, scope == TicketScope::All, &request)?
                .len();
            ticket_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            slowest.push((
                *ticket_ms.last().unwrap_or(&0.0),
                q,
                scope == TicketScope::All,
                request.prefix_last,
            ));
        }
    }
    // Where the time goes: the slowest ticket searches, on stderr.
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, q, staff, prefix) in slowest.iter().take(8) {
        eprintln!("slow ticket search: {ms:.1} ms {q:?} staff={staff} prefix_last={prefix}");
    }
    anyhow::ensure!(found > 0, "the benchmark queries found nothing");
    let mut all: Vec<f64> = article_ms.iter().chain(&ticket_ms).copied().collect();
    for v in [&mut article_ms, &mut ticket_ms, &mut all] {
        v.sort_by(f64::total_cmp);
    }
    Ok(vec![
        Figure::new("search_articles", articles as f64, "docs"),
        Figure::new("search_tickets", tickets as f64, "docs"),
        Figure::new("search_index_seconds", indexing, "s"),
        Figure::new("search_index_docs_per_s", rate, "docs/s").at_least(5_000.0),
        Figure::new(
            "search_article_query_p50",
            percentile(&article_ms, 0.50),
            "ms",
        ),
        Figure::new(
            "search_article_query_p99",
            percentile(&article_ms, 0.99),
            "ms",
        ),
        Figure::new(
            "search_ticket_query_p50",
            percentile(&ticket_ms, 0.50),
            "ms",
        ),
        Figure::new(
            "search_ticket_query_p99",
            percentile(&ticket_ms, 0.99),
            "ms",
        ),
        Figure::new("search_query_p99", percentile(&all, 0.99), "ms").at_most(20.0),
    ])
}
