//! Full-text search over knowledge-base articles and tickets.
//!
//! Two tantivy indexes under one directory (`<data>/search/articles`, `.../tickets`), both
//! analysed by [`analyzer::analyzer`] (Russian and English stemming in one field). Who may
//! see what is part of every query (audience, published state, client restrictions, the
//! caller's [`TicketScope`]), never a filter applied to the results afterwards, so a page
//! of results is always full and nothing hidden is ever scored or highlighted.
//!
//! The index does not know the database: the desk feeds it documents and remembers how far
//! it got in each index's commit payload (the "watermark"). A missing, unreadable or
//! older-schema index is recreated empty (watermark `None`), which tells the desk to refill it.

pub mod analyzer;
mod query;

use analyzer::{ANALYZER, analyzer};
use okno_domain::TicketScope;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use query::{MAX_QUERY_CHARS, ParsedQuery};

/// Bumped whenever a schema or the analyzer changes: an index of another version is rebuilt.
const SCHEMA_VERSION: &str = "3";

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index files: {0}")]
    Io(#[from] std::io::Error),
    /// Another process (a running `okno serve`) holds the index's writer; it indexes the
    /// change itself from the database.
    #[error("search index: another process is writing it")]
    Busy,
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// Who may read an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, without logging in (the open knowledge base); clients and staff too.
    Public,
    /// Client contacts (and staff, who answer with these articles).
    Client,
    /// Staff only: internal rules and procedures.
    Staff,
    /// Clients and staff, not anonymous readers.
    Both,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Client => "client",
            Audience::Staff => "staff",
            Audience::Both => "both",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "public" => Audience::Public,
            "client" => Audience::Client,
            "staff" => Audience::Staff,
            "both" => Audience::Both,
            _ => return None,
        })
    }

    /// The reader classes the audience admits, as indexed terms.
    fn classes(self) -> &'static [&'static str] {
        match self {
            Audience::Public => &["public", "client"],
            Audience::Client => &["client"],
            Audience::Staff => &[],
            Audience::Both => &["client"],
        }
    }

    /// Whether `reader` may read an article for this audience limited to `clients` (empty:
    /// every client). The same rule the index query applies, for single-article checks.
    pub fn admits(self, reader: Reader, clients: &[i64]) -> bool {
        match reader {
            Reader::Staff => true,
            Reader::Anonymous => self == Audience::Public,
            Reader::Client(id) => {
                self.classes().contains(&"client") && (clients.is_empty() || clients.contains(&id))
            }
        }
    }
}

/// The person searching the knowledge base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Anonymous,
    /// A client contact of this organization.
    Client(i64),
    Staff,
}

/// An article as the index needs it: plain text (Markdown already rendered to text).
#[derive(Debug, Clone)]
pub struct ArticleDoc {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub body: String,
    pub category: String,
    pub tags: Vec<String>,
    pub services: Vec<String>,
    pub audience: Audience,
    /// Limited to these client organizations; empty: every client.
    pub clients: Vec<i64>,
    pub published: bool,
    pub updated_ms: i64,
}

/// A ticket as the index needs it.
#[derive(Debug, Clone)]
pub struct TicketDoc {
    pub id: i64,
    pub client_id: i64,
    pub requester_id: i64,
    pub shared: bool,
    pub watchers: Vec<i64>,
    pub subject: String,
    /// The description and the public comments.
    pub text: String,
    /// Internal comments: searched by staff only.
    pub internal: String,
    pub updated_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArticleHit {
    pub id: i64,
    pub slug: String,
    pub title: String,
    /// HTML: escaped text with `<b>` around the matched words.
    pub title_html: String,
    pub snippet_html: String,
    pub published: bool,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TicketHit {
    pub id: i64,
    pub subject: String,
    pub subject_html: String,
    pub snippet_html: String,
    pub score: f32,
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest<'a> {
    pub text: &'a str,
    pub limit: usize,
    /// Treat the last word as a prefix (the user is still typing it).
    pub prefix_last: bool,
    /// Articles relevant to this service rank higher.
    pub service: Option<&'a str>,
    /// Staff only: include drafts.
    pub drafts: bool,
    /// Now, by the desk's clock (unix ms): freshness is counted back from it (0 takes every
    /// document as fresh, leaving freshness out of the order).
    pub now_ms: i64,
}

struct ArticleFields {
    id: Field,
    slug: Field,
    title: Field,
    body: Field,
    /// Title, body, category and tags in one field: a word is one posting list, so a query of
    /// common words intersects a few lists instead of unions over fields (see [`Matching`]).
    words: Field,
    aud: Field,
    client: Field,
    service: Field,
    state: Field,
    updated: Field,
}

struct TicketFields {
    id: Field,
    subject: Field,
    text: Field,
    internal: Field,
    /// Subject, text and internal comments in one field, for staff (see [`ArticleFields::words`]).
    words: Field,
    client: Field,
    requester: Field,
    shared: Field,
    watcher: Field,
    updated: Field,
}

struct Part {
    index: Index,
    reader: IndexReader,
    /// Taken on the first write, so that a CLI command can open the index while the server
    /// holds its lock.
    writer: Mutex<Option<IndexWriter>>,
    threads: usize,
    budget: usize,
}

/// Both indexes, opened (or rebuilt) under one directory.
pub struct SearchIndex {
    dir: PathBuf,
    articles: Part,
    a: ArticleFields,
    tickets: Part,
    t: TicketFields,
}

/// Stored for snippets, not indexed: its words are searched in a `words` field.
fn stored_text() -> TextOptions {
    TextOptions::default().set_stored()
}

fn text_options(stored: bool) -> TextOptions {
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    if stored {
        options.set_stored()
    } else {
        options
    }
}

fn article_schema() -> (Schema, ArticleFields) {
    let mut s = Schema::builder();
    let f = ArticleFields {
        id: s.add_i64_field("id", INDEXED | FAST | STORED),
        slug: s.add_text_field("slug", STORED),
        title: s.add_text_field("title", text_options(true)),
        body: s.add_text_field("body", stored_text()),
        words: s.add_text_field("words", text_options(false)),
        aud: s.add_text_field("aud", STRING),
        client: s.add_text_field("client", STRING),
        service: s.add_text_field("service", STRING),
        state: s.add_text_field("state", STRING | STORED),
        updated: s.add_i64_field("updated", FAST | STORED),
    };
    (s.build(), f)
}

fn ticket_schema() -> (Schema, TicketFields) {
    let mut s = Schema::builder();
    let f = TicketFields {
        id: s.add_i64_field("id", INDEXED | FAST | STORED),
        subject: s.add_text_field("subject", text_options(true)),
        text: s.add_text_field("text", text_options(true)),
        internal: s.add_text_field("internal", stored_text()),
        words: s.add_text_field("words", text_options(false)),
        client: s.add_i64_field("client", INDEXED),
        requester: s.add_i64_field("requester", INDEXED),
        shared: s.add_text_field("shared", STRING),
        watcher: s.add_i64_field("watcher", INDEXED),
        updated: s.add_i64_field("updated", FAST | STORED),
    };
    (s.build(), f)
}

/// Opens the index in `dir`, or creates it empty when it is missing, unreadable or of
/// another schema version.
fn open_part(dir: &Path, schema: Schema, threads: usize, budget: usize) -> Result<Part> {
    let version_file = dir.join("okno-version");
    let current = std::fs::read_to_string(&version_file).ok();
    let opened = match current.as_deref() {
        Some(SCHEMA_VERSION) => match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => Some(index),
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "search index unreadable, rebuilding");
                None
            }
        },
        _ => None,
    };
    let mut index = match opened {
        Some(index) => index,
        None => {
            if dir.exists() {
                std::fs::remove_dir_all(dir)?;
            }
            std::fs::create_dir_all(dir)?;
            let index = Index::create_in_dir(dir, schema)?;
            std::fs::write(&version_file, SCHEMA_VERSION)?;
            index
        }
    };
    index.tokenizers().register(ANALYZER, analyzer());
    // A query runs over the index's segments on every core: a search of common words over
    // a million tickets is a few large intersections, one per segment. The reader below
    // takes the executor with its copy of the index.
    if let Err(error) = index.set_default_multithread_executor() {
        tracing::warn!(%error, "search runs on one thread");
    }
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok(Part {
        index,
        reader,
        writer: Mutex::new(None),
        threads,
        budget,
    })
}

impl Part {
    fn with_writer<R>(&self, write: impl FnOnce(&mut IndexWriter) -> Result<R>) -> Result<R> {
        let mut slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let writer = match &mut *slot {
            Some(writer) => writer,
            empty => match self
                .index
                .writer_with_num_threads(self.threads, self.budget)
            {
                Ok(writer) => empty.insert(writer),
                Err(tantivy::TantivyError::LockFailure(..)) => return Err(SearchError::Busy),
                Err(error) => return Err(error.into()),
            },
        };
        write(writer)
    }

    fn commit(&self, watermark: Option<&str>) -> Result<()> {
        self.with_writer(|writer| {
            let mut prepared = writer.prepare_commit()?;
            if let Some(watermark) = watermark {
                prepared.set_payload(watermark);
            }
            prepared.commit()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    /// Lets the writer finish merging segments (fewer segments: quicker searches) and
    /// releases it; the next write takes it again.
    fn settle(&self) -> Result<()> {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(writer) = writer {
            writer.wait_merging_threads()?;
            self.reader.reload()?;
        }
        Ok(())
    }

    fn watermark(&self) -> Option<String> {
        self.index.load_metas().ok().and_then(|m| m.payload)
    }

    fn clear(&self) -> Result<()> {
        self.with_writer(|writer| Ok(writer.delete_all_documents()?))
            .map(drop)
    }
}

/// The term of a ticket its client's contacts all see. Per client, so that a contact's scope
/// is a union of two short lists (own tickets, the client's shared ones), not of every
/// shared ticket of every client.
fn shared_with(client: i64) -> String {
    format!("c{client}")
}

fn must(query: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    // Filters decide membership only; their score must not disturb relevance.
    (Occur::Must, Box::new(BoostQuery::new(query, 0.0)))
}

fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

fn any_of(terms: Vec<Term>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        terms
            .into_iter()
            .map(|t| (Occur::Should, term_query(t)))
            .collect(),
    ))
}

/// Freshness lifts a result by up to a quarter of its score, halving every half year.
/// It is computed for every match while collecting, so by whole days from a table made
/// once (an `exp2` per match was a twentieth of a search over common words).
fn freshness(score: f32, updated_ms: i64, now_ms: i64) -> f32 {
    /// Ten years of days; older than that the lift is under a millionth.
    const DAYS: usize = 3_653;
    static LIFT: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    let lift = LIFT.get_or_init(|| {
        (0..DAYS)
            .map(|day| 1.0 + 0.25 * (-(day as f32) / 182.0).exp2())
            .collect()
    });
    let age_days = ((now_ms - updated_ms).max(0) / 86_400_000) as usize;
    score * lift.get(age_days).copied().unwrap_or(1.0)
}

fn stored_str(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn stored_i64(doc: &TantivyDocument, field: Field) -> i64 {
    doc.get_first(field).and_then(|v| v.as_i64()).unwrap_or(0)
}

fn highlighter(terms: &BTreeMap<String, f32>, field: Field, chars: usize) -> SnippetGenerator {
    SnippetGenerator::new(terms.clone(), analyzer(), field, chars)
}

impl SearchIndex {
    /// Opens (or creates) both indexes under `dir`. `ticket_threads` indexing threads for
    /// tickets (bulk loads want more; a running desk needs one).
    pub fn open(dir: &Path, ticket_threads: usize) -> Result<Self> {
        let (aschema, a) = article_schema();
        let (tschema, t) = ticket_schema();
        let threads = ticket_threads.max(1);
        Ok(SearchIndex {
            dir: dir.to_owned(),
            articles: open_part(&dir.join("articles"), aschema, 1, 32_000_000)?,
            a,
            tickets: open_part(&dir.join("tickets"), tschema, threads, threads * 48_000_000)?,
            t,
        })
    }

    /// Waits for the segment merges a large load started (after a rebuild, say).
    pub fn settle(&self) -> Result<()> {
        self.articles.settle()?;
        self.tickets.settle()
    }

    /// Whether this process may write the index: false while another process (a running
    /// server, a long import) holds it.
    pub fn writable(&self) -> Result<bool> {
        let both = self
            .articles
            .with_writer(|_| Ok(()))
            .and_then(|()| self.tickets.with_writer(|_| Ok(())));
        match both {
            Ok(()) => Ok(true),
            Err(SearchError::Busy) => Ok(false),
            Err(error) => Err(error),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How far the articles index got (set by [`SearchIndex::commit_articles`]); `None` for a
    /// fresh index that must be filled.
    pub fn article_watermark(&self) -> Option<String> {
        self.articles.watermark()
    }

    pub fn ticket_watermark(&self) -> Option<String> {
        self.tickets.watermark()
    }

    /// Replaces the article (or removes it, when it is gone: see [`SearchIndex::remove_article`]).
    pub fn put_article(&self, doc: &ArticleDoc) -> Result<()> {
        let f = &self.a;
        let mut d = TantivyDocument::new();
        d.add_i64(f.id, doc.id);
        d.add_text(f.slug, &doc.slug);
        d.add_text(f.title, &doc.title);
        d.add_text(f.body, &doc.body);
        d.add_text(f.words, &doc.title);
        d.add_text(f.words, &doc.body);
        d.add_text(f.words, format!("{} {}", doc.category, doc.tags.join(" ")));
        for class in doc.audience.classes() {
            d.add_text(f.aud, class);
        }
        if doc.clients.is_empty() {
            d.add_text(f.client, "all");
        }
        for client in &doc.clients {
            d.add_text(f.client, format!("c{client}"));
        }
        for service in &doc.services {
            d.add_text(f.service, service);
        }
        d.add_text(f.state, if doc.published { "published" } else { "draft" });
        d.add_i64(f.updated, doc.updated_ms);
        self.articles.with_writer(|writer| {
            writer.delete_term(Term::from_field_i64(f.id, doc.id));
            writer.add_document(d)?;
            Ok(())
        })
    }

    pub fn remove_article(&self, id: i64) -> Result<()> {
        self.articles.with_writer(|writer| {
            writer.delete_term(Term::from_field_i64(self.a.id, id));
            Ok(())
        })
    }

    pub fn put_ticket(&self, doc: &TicketDoc) -> Result<()> {
        let f = &self.t;
        let mut d = TantivyDocument::new();
        d.add_i64(f.id, doc.id);
        d.add_text(f.subject, &doc.subject);
        d.add_text(f.text, &doc.text);
        d.add_text(f.internal, &doc.internal);
        d.add_text(f.words, &doc.subject);
        d.add_text(f.words, &doc.text);
        d.add_text(f.words, &doc.internal);
        d.add_i64(f.client, doc.client_id);
        d.add_i64(f.requester, doc.requester_id);
        if doc.shared {
            d.add_text(f.shared, shared_with(doc.client_id));
        }
        for w in &doc.watchers {
            d.add_i64(f.watcher, *w);
        }
        d.add_i64(f.updated, doc.updated_ms);
        self.tickets.with_writer(|writer| {
            writer.delete_term(Term::from_field_i64(f.id, doc.id));
            writer.add_document(d)?;
            Ok(())
        })
    }

    pub fn remove_ticket(&self, id: i64) -> Result<()> {
        self.tickets.with_writer(|writer| {
            writer.delete_term(Term::from_field_i64(self.t.id, id));
            Ok(())
        })
    }

    /// Makes the article changes so far searchable and records `watermark` with them.
    pub fn commit_articles(&self, watermark: Option<&str>) -> Result<()> {
        self.articles.commit(watermark)
    }

    pub fn commit_tickets(&self, watermark: Option<&str>) -> Result<()> {
        self.tickets.commit(watermark)
    }

    /// Empties both indexes (committed with no watermark), before a full rebuild.
    pub fn clear(&self) -> Result<()> {
        self.articles.clear()?;
        self.tickets.clear()?;
        self.articles.commit(Some(""))?;
        self.tickets.commit(Some(""))?;
        Ok(())
    }

    pub fn article_count(&self) -> u64 {
        self.articles.reader.searcher().num_docs()
    }

    pub fn ticket_count(&self) -> u64 {
        self.tickets.reader.searcher().num_docs()
    }

    /// Segments of the (articles, tickets) indexes: each costs every search a little.
    pub fn segments(&self) -> (usize, usize) {
        (
            self.articles.reader.searcher().segment_readers().len(),
            self.tickets.reader.searcher().segment_readers().len(),
        )
    }

    /// Articles `reader` may read that match `request`, best first.
    pub fn search_articles(
        &self,
        reader: Reader,
        request: &SearchRequest,
    ) -> Result<Vec<ArticleHit>> {
        let f = &self.a;
        let parsed = ParsedQuery::parse(request.text, request.prefix_last);
        let searcher = self.articles.reader.searcher();
        let matching = Matching {
            fields: vec![(f.words, 1.0)],
            lift: Some((f.title, 2.0)),
        };
        let mut clauses = Vec::new();
        match reader {
            Reader::Anonymous => {
                clauses.push(must(term_query(Term::from_field_text(f.aud, "public"))));
            }
            Reader::Client(client) => {
                clauses.push(must(term_query(Term::from_field_text(f.aud, "client"))));
                clauses.push(must(any_of(vec![
                    Term::from_field_text(f.client, "all"),
                    Term::from_field_text(f.client, &format!("c{client}")),
                ])));
            }
            Reader::Staff => {}
        }
        if reader != Reader::Staff || !request.drafts {
            clauses.push(must(term_query(Term::from_field_text(
                f.state,
                "published",
            ))));
        }
        if let Some(service) = request.service {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    term_query(Term::from_field_text(f.service, service)),
                    2.0,
                )),
            ));
        }
        let limit = request.limit.clamp(1, 100);
        let top = top_docs(
            &searcher,
            &parsed,
            &matching,
            clauses,
            limit,
            request.now_ms,
        )?;
        let mut hits = Vec::with_capacity(top.len());
        let terms = parsed.highlight_terms();
        let title_hl = highlighter(&terms, f.title, 300);
        let body_hl = highlighter(&terms, f.body, 240);
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let title = stored_str(&doc, f.title);
            let body = stored_str(&doc, f.body);
            hits.push(ArticleHit {
                id: stored_i64(&doc, f.id),
                slug: stored_str(&doc, f.slug),
                title_html: highlighted(&title_hl, &title),
                snippet_html: snippet(&body_hl, &body),
                title,
                published: stored_str(&doc, f.state) == "published",
                score,
            });
        }
        Ok(hits)
    }

    /// Tickets within `scope` that match; internal comments are searched only when
    /// `internal` (staff).
    pub fn search_tickets(
        &self,
        scope: TicketScope,
        internal: bool,
        request: &SearchRequest,
    ) -> Result<Vec<TicketHit>> {
        let f = &self.t;
        let parsed = ParsedQuery::parse(request.text, request.prefix_last);
        let searcher = self.tickets.reader.searcher();
        // Staff search everything in one field; a client's words must be in the subject or
        // the public text, and the client's own tickets (a short list) lead the query.
        let matching = if internal {
            Matching {
                fields: vec![(f.words, 1.0)],
                lift: Some((f.subject, 2.0)),
            }
        } else {
            Matching {
                fields: vec![(f.subject, 3.0), (f.text, 1.0)],
                lift: None,
            }
        };
        let mut clauses = Vec::new();
        match scope {
            TicketScope::All => {}
            TicketScope::Organization(client) => {
                clauses.push(must(term_query(Term::from_field_i64(f.client, client.0))));
            }
            TicketScope::OwnOrShared { client, user } => {
                clauses.push(must(term_query(Term::from_field_i64(f.client, client.0))));
                clauses.push(must(any_of(vec![
                    Term::from_field_i64(f.requester, user.0),
                    Term::from_field_text(f.shared, &shared_with(client.0)),
                    Term::from_field_i64(f.watcher, user.0),
                ])));
            }
            // The index does not know which tickets went to which vendor: a vendor's login
            // finds its tickets in its queue, not by search.
            TicketScope::HandedToVendor(_) | TicketScope::Nothing => return Ok(Vec::new()),
        }
        let limit = request.limit.clamp(1, 100);
        let top = top_docs(
            &searcher,
            &parsed,
            &matching,
            clauses,
            limit,
            request.now_ms,
        )?;
        let terms = parsed.highlight_terms();
        let subject_hl = highlighter(&terms, f.subject, 300);
        let text_hl = highlighter(&terms, f.text, 240);
        let internal_hl = highlighter(&terms, f.internal, 240);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let subject = stored_str(&doc, f.subject);
            let mut snippet_html = snippet(&text_hl, &stored_str(&doc, f.text));
            if internal && !snippet_html.contains("<b>") {
                let inner = snippet(&internal_hl, &stored_str(&doc, f.internal));
                if inner.contains("<b>") {
                    snippet_html = inner;
                }
            }
            hits.push(TicketHit {
                id: stored_i64(&doc, f.id),
                subject_html: highlighted(&subject_hl, &subject),
                subject,
                snippet_html,
                score,
            });
        }
        Ok(hits)
    }
}

/// Where a query's words are looked for: each word in one of `fields` (with their boosts),
/// and `lift` (a title, a subject) lifting the documents that have it there too.
struct Matching {
    fields: Vec<(Field, f32)>,
    lift: Option<(Field, f32)>,
}

/// The best `limit` documents for the text that also meet `filters`, by relevance lifted by
/// freshness (read from the `updated` fast field while collecting, so the freshest of
/// equally relevant documents win, not whichever came first): those with every word
/// first, and only when fewer than three pages have them all, those with most of them.
/// Over a large index of common words the relaxed query scores nearly every document; the
/// strict one walks the intersection of a few posting lists.
fn top_docs(
    searcher: &tantivy::Searcher,
    parsed: &ParsedQuery,
    matching: &Matching,
    filters: Vec<(Occur, Box<dyn Query>)>,
    limit: usize,
    now: i64,
) -> Result<Vec<(f32, tantivy::DocAddress)>> {
    let run = |strict: bool, wanted: usize| -> Result<Vec<(f32, tantivy::DocAddress)>> {
        let Some(query) =
            parsed.to_query(searcher, &matching.fields, matching.lift, strict, &filters)
        else {
            return Ok(Vec::new());
        };
        let collector =
            TopDocs::with_limit(wanted).tweak_score(move |segment: &tantivy::SegmentReader| {
                let updated = segment.fast_fields().i64("updated").ok();
                move |doc: tantivy::DocId, score: tantivy::Score| {
                    let at = updated.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
                    freshness(score, at, now)
                }
            });
        Ok(searcher.search(query.as_ref(), &collector)?)
    };
    let wanted = limit * 3;
    let mut top = run(true, wanted)?;
    if top.len() < wanted && parsed.can_relax() {
        top = run(false, limit)?;
    }
    top.truncate(limit);
    Ok(top)
}

/// The whole (short) text with matches in `<b>`, escaped.
fn highlighted(generator: &SnippetGenerator, text: &str) -> String {
    let snippet = generator.snippet(text);
    if snippet.is_empty() || snippet.fragment().len() < text.len() {
        return escape(text);
    }
    snippet.to_html()
}

/// The best fragment of a long text, or its beginning when nothing matched in it.
fn snippet(generator: &SnippetGenerator, text: &str) -> String {
    let snippet = generator.snippet(text);
    if snippet.is_empty() {
        let start: String = text.chars().take(200).collect();
        return escape(&start);
    }
    snippet.to_html()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
