//! The knowledge base: articles for clients, staff or everyone, their search, deflection of
//! new tickets, answering with an article and asking for documentation updates.
//!
//! The search index is fed by [`Desk::search_catch_up`]: it reads what changed since the
//! index's watermark (articles and tickets by `updated_at`) and commits it in one batch. A
//! background task runs it every second and whenever a change nudges it, so writing a ticket
//! never waits for the index; a missing or corrupt index comes back empty and is refilled.

use crate::{Desk, DeskError, Result, viewer};
use okno_domain::*;
use okno_search::{
    ArticleDoc, ArticleHit, Audience, Reader, SearchIndex, SearchRequest, TicketDoc, TicketHit,
};
use okno_store::NewTask;
use okno_store::kb::{
    Article, ArticleAttachment, ArticleFilter, ArticleInput, ArticleVersion, TicketText,
};
use std::path::Path;
use std::sync::{Arc, Weak};

/// The shipped mandatory articles (seed 004): how to work with support (clients), how to
/// work with clients (staff), the product FAQ (clients).
const SHIPPED: &[(&str, &str)] = &[
    (
        "support-rules.md",
        include_str!("../../../config/kb/support-rules.md"),
    ),
    (
        "staff-rules.md",
        include_str!("../../../config/kb/staff-rules.md"),
    ),
    ("faq.md", include_str!("../../../config/kb/faq.md")),
];

const TITLE_MAX_CHARS: usize = 200;
const ARTICLE_MAX_CHARS: usize = 200_000;
/// How far back each catch-up looks again, for changes committed late with an older time.
const OVERLAP_MS: i64 = 2_000;

/// The desk's search index and the lock that makes one catch-up run at a time. The index
/// opens on first use: a command that never searches (one message an MTA pipes to `okno
/// mail ingest`) does not pay for opening it.
pub struct Search {
    dir: std::path::PathBuf,
    opened: std::sync::Mutex<Option<Arc<SearchIndex>>>,
    running: tokio::sync::Mutex<()>,
    nudge: Arc<tokio::sync::Notify>,
    /// Tickets indexed within the re-read window, with the change time indexed.
    recent: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
}

impl Search {
    pub fn open(dir: &Path) -> Result<Search> {
        Ok(Search {
            dir: dir.to_owned(),
            opened: std::sync::Mutex::new(None),
            running: tokio::sync::Mutex::new(()),
            nudge: Arc::new(tokio::sync::Notify::new()),
            recent: Default::default(),
        })
    }

    /// The index under `<data>/search/`, opened (or created) the first time it is asked for.
    pub fn index(&self) -> Result<Arc<SearchIndex>> {
        let mut opened = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = &*opened {
            return Ok(index.clone());
        }
        let index = Arc::new(SearchIndex::open(&self.dir, 1).map_err(search_error)?);
        *opened = Some(index.clone());
        Ok(index)
    }

    /// Runs `work` on the index off the async threads (tantivy blocks).
    async fn blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce(&SearchIndex) -> okno_search::Result<R> + Send + 'static,
    ) -> Result<R> {
        let index = self.index()?;
        tokio::task::spawn_blocking(move || work(&index))
            .await
            .map_err(|e| DeskError::Io(std::io::Error::other(e)))?
            .map_err(search_error)
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, i64>> {
        self.recent.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the indexer to catch up soon (after a change).
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }
}

fn search_error(error: okno_search::SearchError) -> DeskError {
    DeskError::Io(std::io::Error::other(error.to_string()))
}

/// An article as shown: sanitized HTML beside the Markdown source.
#[derive(Debug, Clone)]
pub struct ArticleView {
    pub article: Article,
    pub html: String,
    pub deflections: i64,
}

/// What an author submits; lists are comma-separated in forms, vectors in the API.
#[derive(Debug, Clone, Default)]
pub struct ArticleForm {
    pub slug: Option<String>,
    pub title: String,
    pub body: String,
    pub category: String,
    pub tags: Vec<String>,
    pub services: Vec<String>,
    pub audience: String,
    /// Client codes the article is limited to (empty: every client).
    pub clients: Vec<String>,
    /// `draft`, `published` or `archived`.
    pub status: String,
}

/// Markdown rendered to HTML and sanitized: no scripts, iframes, event handlers or
/// `javascript:` links, whatever the author wrote.
pub fn render_markdown(source: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut raw = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(source, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(&raw)
        .to_string()
}

/// The words of a Markdown text, for the index (no markup, no link targets).
pub fn markdown_text(source: &str) -> String {
    use pulldown_cmark::{Event, Parser};
    let mut out = String::with_capacity(source.len());
    for event in Parser::new(source) {
        match event {
            Event::Text(t) | Event::Code(t) => {
                out.push_str(&t);
                out.push(' ');
            }
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push('\n'),
            _ => {}
        }
    }
    out
}

/// A stable URL part from a title: lowercase Latin letters, digits and dashes (Cyrillic
/// transliterated).
pub fn slugify(title: &str) -> String {
    const MAP: &[(char, &str)] = &[
        ('а', "a"),
        ('б', "b"),
        ('в', "v"),
        ('г', "g"),
        ('д', "d"),
        ('е', "e"),
        ('ё', "e"),
        ('ж', "zh"),
        ('з', "z"),
        ('и', "i"),
        ('й', "y"),
        ('к', "k"),
        ('л', "l"),
        ('м', "m"),
        ('н', "n"),
        ('о', "o"),
        ('п', "p"),
        ('р', "r"),
        ('с', "s"),
        ('т', "t"),
        ('у', "u"),
        ('ф', "f"),
        ('х', "h"),
        ('ц', "ts"),
        ('ч', "ch"),
        ('ш', "sh"),
        ('щ', "sch"),
        ('ъ', ""),
        ('ы', "y"),
        ('ь', ""),
        ('э', "e"),
        ('ю', "yu"),
        ('я', "ya"),
    ];
    let mut out = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if let Some((_, latin)) = MAP.iter().find(|(k, _)| *k == c) {
            out.push_str(latin);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 80 {
            break;
        }
    }
    out.trim_matches('-').to_owned()
}

fn parse_slug(slug: &str) -> Result<String> {
    let slug = slug.trim();
    let ok = !slug.is_empty()
        && slug.len() <= 100
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-');
    if !ok {
        return Err(FieldError::new(
            "slug",
            "use lowercase Latin letters, digits and dashes (up to 100)",
        )
        .into());
    }
    Ok(slug.to_owned())
}

fn parse_list(field: &'static str, items: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for item in items.iter().flat_map(|i| i.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        if item.chars().count() > 60 {
            return Err(FieldError::new(field, "an item is longer than 60 characters").into());
        }
        if !out.iter().any(|o: &String| o == item) {
            out.push(item.to_owned());
        }
    }
    if out.len() > 50 {
        return Err(FieldError::new(field, "at most 50 items").into());
    }
    Ok(out)
}

/// The reader a user (or nobody) is for articles.
pub fn reader(user: Option<&User>) -> Reader {
    match user {
        None => Reader::Anonymous,
        Some(u) if u.role.is_staff() => Reader::Staff,
        Some(u) => match u.client_id {
            Some(c) => Reader::Client(c.0),
            None => Reader::Anonymous,
        },
    }
}

fn audience_of(article: &Article) -> Audience {
    Audience::parse(&article.audience).unwrap_or(Audience::Staff)
}

/// Whether `reader` may read `article` (drafts and archived ones: staff only).
pub fn may_read(reader: Reader, article: &Article) -> bool {
    if article.status != "published" && reader != Reader::Staff {
        return false;
    }
    let clients: Vec<i64> = article.clients.iter().map(|c| c.0).collect();
    audience_of(article).admits(reader, &clients)
}

fn article_doc(article: &Article) -> ArticleDoc {
    ArticleDoc {
        id: article.id,
        slug: article.slug.clone(),
        title: article.title.clone(),
        body: markdown_text(&article.body),
        category: article.category.clone(),
        tags: article.tags.clone(),
        services: article.services.clone(),
        audience: audience_of(article),
        clients: article.clients.iter().map(|c| c.0).collect(),
        published: article.status == "published",
        updated_ms: article.updated_at.as_millisecond(),
    }
}

fn ticket_doc(t: &TicketText) -> TicketDoc {
    let mut text = t.ticket.description.clone();
    for label in &t.labels {
        text.push('\n');
        text.push_str(label);
    }
    let mut internal = String::new();
    for c in &t.comments {
        let target = if c.internal { &mut internal } else { &mut text };
        target.push('\n');
        target.push_str(&c.body);
    }
    TicketDoc {
        id: t.ticket.id.0,
        client_id: t.ticket.client_id.0,
        requester_id: t.ticket.requester_id.0,
        shared: t.ticket.shared_with_organization,
        watchers: t.watchers.iter().map(|w| w.0).collect(),
        subject: t.ticket.subject.clone(),
        text,
        internal,
        updated_ms: t.ticket.updated_at.as_millisecond(),
    }
}

/// A watermark `since:after:read_at`: the last change a catch-up saw and when it started
/// reading (`None` in watermarks written before it was recorded).
fn parse_mark(mark: &str) -> Option<(i64, i64, Option<i64>)> {
    let mut parts = mark.split(':').map(|p| p.parse::<i64>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten()))
}

/// Where a catch-up resumes. A change committed after the last read carries a time no
/// earlier than `read_at - OVERLAP_MS`: only that window is read again, and only when it
/// reaches back before `since`.
fn resume_from(mark: Option<String>) -> (i64, i64) {
    let Some((since, after, read_at)) = mark.as_deref().and_then(parse_mark) else {
        return (0, 0);
    };
    let window = read_at.unwrap_or(since) - OVERLAP_MS;
    if window > since {
        (since, after)
    } else {
        (window.max(0), 0)
    }
}

/// Whether a watermark should be written again although nothing changed: there is none, or
/// its window reaches back before its `since` while a read from `read_at` would not, so a
/// restart would read the window again.
fn mark_is_stale(mark: Option<String>, read_at: i64) -> bool {
    let Some((since, _, _)) = mark.as_deref().and_then(parse_mark) else {
        return true;
    };
    resume_from(mark).0 < since && read_at - OVERLAP_MS > since
}

/// A shipped article file: `---` front matter (`slug`, `title`, `audience`, `category`,
/// `tags`, `services`) then Markdown. Errors name the file and line.
pub fn parse_article_file(name: &str, text: &str) -> Result<ArticleForm, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, "---")) => {}
        _ => {
            return Err(format!(
                "{name}:1: an article starts with a `---` front matter line"
            ));
        }
    }
    let mut form = ArticleForm {
        status: "published".into(),
        ..Default::default()
    };
    let mut closed = None;
    for (n, line) in lines.by_ref() {
        if line.trim() == "---" {
            closed = Some(n);
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("{name}:{}: expected `key: value`", n + 1))?;
        let value = value.trim().to_owned();
        match key.trim() {
            "slug" => form.slug = Some(value),
            "title" => form.title = value,
            "audience" => form.audience = value,
            "category" => form.category = value,
            "tags" => form.tags = vec![value],
            "services" => form.services = vec![value],
            "status" => form.status = value,
            other => return Err(format!("{name}:{}: unknown key `{other}`", n + 1)),
        }
    }
    let Some(end) = closed else {
        return Err(format!("{name}:1: the front matter is not closed by `---`"));
    };
    form.body = text.lines().skip(end + 1).collect::<Vec<_>>().join("\n");
    if form.title.is_empty() {
        return Err(format!("{name}:2: `title` is required"));
    }
    if Audience::parse(&form.audience).is_none() {
        return Err(format!(
            "{name}:2: `audience` must be public, client, staff or both"
        ));
    }
    Ok(form)
}

impl Desk {
    /// Starts the background indexer: it catches up now (refilling an empty index) and
    /// then when nudged (at most once a second) or every five seconds, until the desk is
    /// dropped.
    pub(crate) fn start_indexer(desk: &Arc<Desk>) {
        let weak: Weak<Desk> = Arc::downgrade(desk);
        let nudge = desk.search.nudge.clone();
        tokio::spawn(async move {
            loop {
                {
                    let Some(desk) = weak.upgrade() else { return };
                    // Another process holding the index (the server, while a CLI command
                    // runs) indexes the same database itself.
                    let writable = desk
                        .search
                        .index()
                        .and_then(|index| index.writable().map_err(search_error));
                    let caught_up = match writable {
                        Ok(true) => desk.search_catch_up().await.map(drop),
                        Ok(false) => Ok(()),
                        Err(error) => Err(error),
                    };
                    if let Err(error) = caught_up {
                        tracing::warn!(%error, "search indexing failed; retrying");
                    }
                }
                // At most one round a second: under a stream of changes each round indexes
                // a batch and pays for one index commit, not one per change. A nudge that
                // came meanwhile is kept, so the next round starts at once.
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(4), nudge.notified()).await;
            }
        });
    }

    /// Indexes everything changed since the index's watermarks; returns how many articles
    /// and tickets it (re)indexed. `progress` hears `(done, total)` for tickets.
    pub async fn search_catch_up(&self) -> Result<(usize, usize)> {
        self.search_catch_up_with(&mut |_, _| {}).await
    }

    pub async fn search_catch_up_with(
        &self,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<(usize, usize)> {
        let _one = self.search.running.lock().await;
        let index = self.search.index()?;
        let read_at = self.now().as_millisecond();
        let (mut since, mut after) = resume_from(index.article_watermark());
        let mut articles = 0;
        loop {
            let batch = self.store.articles_changed_since(since, after, 500).await?;
            let Some(last) = batch.last() else { break };
            (since, after) = (last.updated_at.as_millisecond(), last.id);
            for article in &batch {
                if article.status == "archived" {
                    index.remove_article(article.id).map_err(search_error)?;
                } else {
                    index
                        .put_article(&article_doc(article))
                        .map_err(search_error)?;
                }
            }
            articles += batch.len();
        }
        if articles > 0 || mark_is_stale(index.article_watermark(), read_at) {
            let mark = format!("{since}:{after}:{read_at}");
            self.search
                .blocking(move |index| index.commit_articles(Some(&mark)))
                .await?;
        }
        let read_at = self.now().as_millisecond();
        let (mut since, mut after) = resume_from(index.ticket_watermark());
        let total = if since == 0 {
            usize::try_from(self.store.ticket_count().await?).unwrap_or(0)
        } else {
            0
        };
        let mut tickets = 0;
        loop {
            let changed = self
                .store
                .tickets_changed_since(since, after, 2_000)
                .await?;
            let Some(&(last_id, last_ms)) = changed.last() else {
                break;
            };
            (since, after) = (last_ms, last_id.0);
            // The window read again holds mostly tickets indexed as they are now.
            let ids: Vec<TicketId> = {
                let recent = self.search.recent();
                changed
                    .iter()
                    .filter(|(id, ms)| recent.get(&id.0) != Some(ms))
                    .map(|(id, _)| *id)
                    .collect()
            };
            let texts = self.store.ticket_texts(&ids).await?;
            let docs: Vec<TicketDoc> = texts.iter().map(ticket_doc).collect();
            self.search
                .blocking(move |index| docs.iter().try_for_each(|doc| index.put_ticket(doc)))
                .await?;
            self.search
                .recent()
                .extend(changed.iter().map(|(id, ms)| (id.0, *ms)));
            tickets += ids.len();
            progress(tickets, total.max(tickets));
        }
        if tickets > 0 || mark_is_stale(index.ticket_watermark(), read_at) {
            let mark = format!("{since}:{after}:{read_at}");
            let committed = self
                .search
                .blocking(move |index| index.commit_tickets(Some(&mark)))
                .await;
            if committed.is_err() {
                self.search.recent().clear();
            }
            committed?;
        }
        // Only the next window can be read again.
        self.search
            .recent()
            .retain(|_, ms| *ms >= read_at - OVERLAP_MS);
        Ok((articles, tickets))
    }

    /// Indexes these tickets now, whatever their change time: imported tickets keep their
    /// original, older dates, which the catch-up's watermark has already passed.
    pub async fn search_put_tickets(&self, ids: &[TicketId]) -> Result<usize> {
        let _one = self.search.running.lock().await;
        let texts = self.store.ticket_texts(ids).await?;
        let docs: Vec<TicketDoc> = texts.iter().map(ticket_doc).collect();
        let count = docs.len();
        let mark = self.search.index()?.ticket_watermark();
        self.search
            .blocking(move |index| {
                docs.iter().try_for_each(|doc| index.put_ticket(doc))?;
                index.commit_tickets(mark.as_deref())
            })
            .await?;
        Ok(count)
    }

    /// Empties the index and fills it again from the database (`okno search reindex`).
    pub async fn search_reindex(
        &self,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<(usize, usize)> {
        {
            let _one = self.search.running.lock().await;
            self.search.index()?.clear().map_err(search_error)?;
            self.search.recent().clear();
        }
        let counts = self.search_catch_up_with(progress).await?;
        self.search.blocking(|index| index.settle()).await?;
        Ok(counts)
    }

    /// Creates the shipped articles that are not there yet (by slug); edits made by staff
    /// to them are kept.
    pub(crate) async fn load_shipped_articles(&self) -> Result<()> {
        let mut files: Vec<(String, String)> = Vec::new();
        let dir = self.settings.config_dir.as_ref().map(|d| d.join("kb"));
        match dir.filter(|d| d.is_dir()) {
            Some(dir) => {
                let mut names: Vec<_> = std::fs::read_dir(&dir)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "md"))
                    .collect();
                names.sort();
                for path in names {
                    files.push((path.display().to_string(), std::fs::read_to_string(&path)?));
                }
            }
            None => {
                for (name, text) in SHIPPED {
                    files.push((format!("config/kb/{name}"), (*text).to_owned()));
                }
            }
        }
        let mut errors = Vec::new();
        for (name, text) in files {
            match parse_article_file(&name, &text) {
                Ok(mut form) => {
                    let slug = match &form.slug {
                        Some(s) => s.clone(),
                        None => slugify(&form.title),
                    };
                    if self.store.article_by_slug(&slug).await?.is_none() {
                        form.slug = Some(slug);
                        let mut input = self
                            .article_input(form)
                            .await
                            .map_err(|e| DeskError::Config(format!("{name}:1: {e}")))?;
                        input.shipped = true;
                        self.store.create_article(&input, None, self.now()).await?;
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(DeskError::Config(errors.join("\n")));
        }
        self.search.nudge();
        Ok(())
    }

    async fn article_input(&self, form: ArticleForm) -> Result<ArticleInput> {
        let title = parse_text("title", &form.title, TITLE_MAX_CHARS, true)?;
        let slug = match form
            .slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(slug) => parse_slug(slug)?,
            None => {
                let slug = slugify(&title);
                if slug.is_empty() {
                    return Err(FieldError::new("slug", "give the article an address").into());
                }
                slug
            }
        };
        if form.body.chars().count() > ARTICLE_MAX_CHARS {
            return Err(FieldError::new(
                "body",
                format!("longer than {ARTICLE_MAX_CHARS} characters"),
            )
            .into());
        }
        let audience = Audience::parse(form.audience.trim())
            .ok_or_else(|| FieldError::new("audience", "must be public, client, staff or both"))?;
        let status = match form.status.trim() {
            "" | "draft" => "draft",
            "published" => "published",
            "archived" => "archived",
            _ => {
                return Err(
                    FieldError::new("status", "must be draft, published or archived").into(),
                );
            }
        };
        let mut clients = Vec::new();
        for code in parse_list("clients", &form.clients)? {
            let client =
                self.store.client_by_code(&code).await?.ok_or_else(|| {
                    FieldError::new("clients", format!("unknown client {code:?}"))
                })?;
            clients.push(client.id);
        }
        let services = parse_list("services", &form.services)?;
        let catalog = self.catalog();
        if let Some(unknown) = services.iter().find(|s| catalog.service(s).is_none()) {
            return Err(FieldError::new("services", format!("unknown service {unknown:?}")).into());
        }
        Ok(ArticleInput {
            slug,
            title,
            body: form.body.replace("\r\n", "\n"),
            category: parse_text("category", &form.category, 100, false)?,
            tags: parse_list("tags", &form.tags)?,
            services,
            audience: audience.as_str().to_owned(),
            clients,
            status: status.to_owned(),
            shipped: false,
        })
    }

    pub async fn create_article(&self, user: &User, form: ArticleForm) -> Result<Article> {
        crate::authorize(user, okno_domain::policy::Action::WriteKnowledge)?;
        let input = self.article_input(form).await?;
        let article = self
            .store
            .create_article(&input, Some(user.id), self.now())
            .await?;
        self.search.nudge();
        Ok(article)
    }

    /// Saves a new version; `version` is the one the author edited (a conflict otherwise).
    pub async fn update_article(
        &self,
        user: &User,
        id: i64,
        version: i64,
        form: ArticleForm,
    ) -> Result<Article> {
        crate::authorize(user, okno_domain::policy::Action::WriteKnowledge)?;
        let input = self.article_input(form).await?;
        let article = self
            .store
            .update_article(id, version, &input, Some(user.id), self.now())
            .await?;
        self.search.nudge();
        Ok(article)
    }

    /// An article by id or slug, if `user` (or an anonymous reader) may read it; otherwise
    /// not found, exactly like an article that does not exist.
    async fn readable_article(&self, user: Option<&User>, key: &str) -> Result<Article> {
        let key = key.trim();
        let found = match key.parse::<i64>() {
            Ok(id) => self.store.article(id).await?,
            Err(_) if key.len() <= 100 => self.store.article_by_slug(key).await?,
            Err(_) => None,
        };
        Ok(found
            .filter(|a| may_read(reader(user), a))
            .ok_or(DomainError::NotFound("article"))?)
    }

    /// An article by id or slug, if `user` (or an anonymous reader) may read it.
    pub async fn article(&self, user: Option<&User>, key: &str) -> Result<ArticleView> {
        let article = self.readable_article(user, key).await?;
        Ok(ArticleView {
            html: render_markdown(&article.body),
            deflections: self.store.deflections(article.id).await?,
            article,
        })
    }

    /// Stores a file on an article (staff who write the knowledge base); its readers are the
    /// article's.
    pub async fn attach_to_article(
        &self,
        user: &User,
        key: &str,
        file_name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<ArticleAttachment> {
        crate::authorize(user, okno_domain::policy::Action::WriteKnowledge)?;
        self.check_upload(bytes)?;
        let article = self.readable_article(Some(user), key).await?;
        let (file_name, content_type) = crate::tickets::upload_names(file_name, content_type)?;
        let sha256 = self.files.put(bytes).await?;
        Ok(self
            .store
            .add_article_attachment(&ArticleAttachment {
                id: 0,
                article_id: article.id,
                file_name,
                content_type,
                size: bytes.len() as i64,
                sha256,
                created_at: self.now(),
            })
            .await?)
    }

    /// An article's files, if `user` (or an anonymous reader) may read the article.
    pub async fn article_attachments(
        &self,
        user: Option<&User>,
        key: &str,
    ) -> Result<Vec<ArticleAttachment>> {
        let article = self.readable_article(user, key).await?;
        Ok(self.store.article_attachments(article.id).await?)
    }

    /// One of an article's files and its bytes, under the same check.
    pub async fn article_attachment(
        &self,
        user: Option<&User>,
        key: &str,
        attachment: i64,
    ) -> Result<(ArticleAttachment, Vec<u8>)> {
        let found = self
            .article_attachments(user, key)
            .await?
            .into_iter()
            .find(|a| a.id == attachment)
            .ok_or(DomainError::NotFound("attachment"))?;
        let bytes = self.files.get(&found.sha256).await?;
        Ok((found, bytes))
    }

    /// Published articles the user may read, by title (a category's page).
    pub async fn articles(
        &self,
        user: Option<&User>,
        category: Option<&str>,
        after: Option<(String, i64)>,
        limit: u32,
    ) -> Result<Vec<Article>> {
        let who = reader(user);
        let statuses = if who == Reader::Staff {
            vec!["published".into(), "draft".into()]
        } else {
            vec!["published".into()]
        };
        let limit = limit.clamp(1, 200);
        let mut out = Vec::new();
        let mut cursor = after;
        // The list is small and visibility cheap to decide; read on until the page is full.
        for _ in 0..20 {
            let page = self
                .store
                .articles(&ArticleFilter {
                    category: category.map(str::to_owned),
                    statuses: statuses.clone(),
                    after: cursor.clone(),
                    limit: limit * 2,
                })
                .await?;
            let done = page.len() < (limit * 2) as usize;
            cursor = page.last().map(|a| (a.title.clone(), a.id));
            out.extend(page.into_iter().filter(|a| may_read(who, a)));
            if done || out.len() >= limit as usize {
                break;
            }
        }
        out.truncate(limit as usize);
        Ok(out)
    }

    pub async fn article_versions(&self, user: &User, id: i64) -> Result<Vec<ArticleVersion>> {
        crate::authorize(user, okno_domain::policy::Action::ReadStaffKnowledge)?;
        self.store
            .article(id)
            .await?
            .ok_or(DomainError::NotFound("article"))?;
        Ok(self.store.article_versions(id).await?)
    }

    /// Articles matching `text` that the user may read, best first.
    pub async fn search_articles(
        &self,
        user: Option<&User>,
        text: &str,
        service: Option<&str>,
        typing: bool,
        limit: usize,
    ) -> Result<Vec<ArticleHit>> {
        let who = reader(user);
        let text = text.to_owned();
        let service = service.map(str::to_owned);
        let now_ms = self.now().as_millisecond();
        self.search
            .blocking(move |index| {
                index.search_articles(
                    who,
                    &SearchRequest {
                        text: &text,
                        limit,
                        prefix_last: typing,
                        service: service.as_deref(),
                        drafts: who == Reader::Staff,
                        now_ms,
                    },
                )
            })
            .await
    }

    /// Deflection: the client articles that may answer the ticket being typed.
    pub async fn suggest_articles(
        &self,
        user: &User,
        text: &str,
        service: Option<&str>,
    ) -> Result<Vec<ArticleHit>> {
        let who = match reader(Some(user)) {
            // Staff typing a ticket for a client see what the client would.
            Reader::Staff => Reader::Anonymous,
            r => r,
        };
        let (text, service) = (text.to_owned(), service.map(str::to_owned));
        let now_ms = self.now().as_millisecond();
        self.search
            .blocking(move |index| {
                index.search_articles(
                    who,
                    &SearchRequest {
                        text: &text,
                        limit: 5,
                        prefix_last: true,
                        service: service.as_deref(),
                        drafts: false,
                        now_ms,
                    },
                )
            })
            .await
    }

    /// Tickets matching `text` within what the user may see (internal comments: staff).
    pub async fn search_tickets(
        &self,
        user: &User,
        text: &str,
        limit: usize,
    ) -> Result<Vec<TicketHit>> {
        let v = viewer(user);
        let (scope, internal) = (v.ticket_scope(), v.sees_internal());
        let text = text.to_owned();
        let now_ms = self.now().as_millisecond();
        self.search
            .blocking(move |index| {
                index.search_tickets(
                    scope,
                    internal,
                    &SearchRequest {
                        text: &text,
                        limit,
                        now_ms,
                        ..Default::default()
                    },
                )
            })
            .await
    }

    /// "This solved my question": counts the deflection and deletes the user's draft.
    pub async fn article_solved(
        &self,
        user: &User,
        article: i64,
        draft: Option<TicketId>,
    ) -> Result<()> {
        let view = self.article(Some(user), &article.to_string()).await?;
        if let Some(draft) = draft {
            let ticket = self.ticket(user, draft).await?;
            if ticket.requester_id != user.id || ticket.status != TicketStatus::Draft {
                return Err(FieldError::new("draft", "not a draft of yours").into());
            }
        }
        self.store
            .record_deflection(view.article.id, user.id, user.client_id, draft, self.now())
            .await?;
        Ok(())
    }

    /// Attaches an article to a ticket (staff).
    pub async fn link_article(
        &self,
        user: &User,
        ticket: TicketId,
        article: i64,
    ) -> Result<Article> {
        crate::authorize(user, okno_domain::policy::Action::WriteKnowledge)?;
        let ticket = self.ticket(user, ticket).await?;
        let article = self
            .store
            .article(article)
            .await?
            .ok_or_else(|| FieldError::new("article", "no such article"))?;
        self.store
            .link_article(ticket.id, article.id, user.id, self.now())
            .await?;
        Ok(article)
    }

    pub async fn unlink_article(&self, user: &User, ticket: TicketId, article: i64) -> Result<()> {
        crate::authorize(user, okno_domain::policy::Action::WriteKnowledge)?;
        let ticket = self.ticket(user, ticket).await?;
        Ok(self.store.unlink_article(ticket.id, article).await?)
    }

    /// The articles linked to a ticket that the user may read.
    pub async fn ticket_articles(&self, user: &User, ticket: TicketId) -> Result<Vec<Article>> {
        let ticket = self.ticket(user, ticket).await?;
        let who = reader(Some(user));
        Ok(self
            .store
            .ticket_articles(ticket.id)
            .await?
            .into_iter()
            .filter(|a| may_read(who, a))
            .collect())
    }

    /// The tickets an article is linked to (staff).
    pub async fn article_tickets(&self, user: &User, article: i64) -> Result<Vec<TicketId>> {
        crate::authorize(user, okno_domain::policy::Action::ReadStaffKnowledge)?;
        Ok(self.store.article_tickets(article, 100).await?)
    }

    /// "Answer with an article": a public comment linking the article (after `note`), and
    /// the article linked to the ticket. The article must be one the ticket's client may read.
    pub async fn answer_with_article(
        &self,
        user: &User,
        ticket: TicketId,
        article: i64,
        note: &str,
    ) -> Result<Comment> {
        crate::authorize(user, okno_domain::policy::Action::WriteKnowledge)?;
        let found = self.ticket(user, ticket).await?;
        let article = self
            .store
            .article(article)
            .await?
            .ok_or_else(|| FieldError::new("article", "no such article"))?;
        if !may_read(Reader::Client(found.client_id.0), &article) {
            return Err(FieldError::new(
                "article",
                "the client cannot read this article (audience, status or client list)",
            )
            .into());
        }
        let note = parse_text("note", note, BODY_MAX_CHARS / 2, false)?;
        let link = format!(
            "[{}](/kb/{})",
            article.title.replace(['[', ']'], ""),
            article.slug
        );
        let body = if note.is_empty() {
            link
        } else {
            format!("{note}\n\n{link}")
        };
        let comment = self.comment(user, found.id, &body, false).await?;
        self.store
            .link_article(found.id, article.id, user.id, self.now())
            .await?;
        self.search.nudge();
        Ok(comment)
    }

    /// "Update the documentation": a `docs` task for line 1 on the ticket where the gap was
    /// found, naming the article (if any) and what to change.
    pub async fn request_docs_update(
        &self,
        user: &User,
        ticket: TicketId,
        article: Option<i64>,
        note: &str,
    ) -> Result<Task> {
        crate::authorize(user, okno_domain::policy::Action::WriteKnowledge)?;
        let found = self.ticket(user, ticket).await?;
        let note = parse_text("note", note, 200, false)?;
        let subject = match article {
            Some(id) => {
                let a = self
                    .store
                    .article(id)
                    .await?
                    .ok_or_else(|| FieldError::new("article", "no such article"))?;
                Bilingual::new(
                    format!("Обновить статью «{}»", a.title),
                    format!("Update the article “{}”", a.title),
                )
            }
            None => Bilingual::new("Обновить документацию", "Update the documentation"),
        };
        let title = if note.is_empty() {
            subject
        } else {
            Bilingual::new(
                format!("{}: {note}", subject.ru),
                format!("{}: {note}", subject.en),
            )
        }
        .to_stored();
        let task = NewTask {
            kind: "docs".into(),
            title,
            line: Some(Line::new(1).map_err(DeskError::from)?),
            pool: None,
            assignee_id: None,
            due_at: None,
            priority: 25,
            stage: None,
        };
        Ok(self
            .store
            .add_task(found.id, &task, user.id, self.now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_up_reads_again_only_the_window_a_late_commit_can_fall_in() {
        // Fresh index: everything.
        assert_eq!(resume_from(None), (0, 0));
        // Read long after the last change: resume exactly where it stopped.
        assert_eq!(resume_from(Some("10000:7:20000".into())), (10000, 7));
        // Read within the window of the last change: read the window again.
        assert_eq!(resume_from(Some("10000:7:11000".into())), (9000, 0));
        // An old watermark without its read time keeps the old behaviour.
        assert_eq!(resume_from(Some("10000:7".into())), (8000, 0));
        // A watermark whose window reaches back is rewritten once a later read would not.
        assert!(mark_is_stale(Some("10000:7:11000".into()), 12_500));
        assert!(!mark_is_stale(Some("10000:7:11000".into()), 11_500));
        assert!(!mark_is_stale(Some("10000:7:20000".into()), 30_000));
        assert!(mark_is_stale(None, 0));
    }

    #[test]
    fn markdown_is_sanitized() {
        let html = render_markdown(
            "# Title\n\n<script>alert(1)</script>\n\n<iframe src=\"https://evil\"></iframe>\n\n\
             [click](javascript:alert(1)) <a href=\"javascript:alert(2)\" onclick=\"x()\">a</a>\n\n\
             <img src=x onerror=alert(3)> **bold** [ok](https://example.com)",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(html.contains("href=\"https://example.com\""), "{html}");
        for bad in ["<script", "<iframe", "javascript:", "onclick", "onerror"] {
            assert!(!html.to_lowercase().contains(bad), "{bad} in {html}");
        }
    }

    #[test]
    fn slugs_are_stable_latin() {
        assert_eq!(
            slugify("Порядок работы с поддержкой!"),
            "poryadok-raboty-s-podderzhkoy"
        );
        assert_eq!(slugify("FAQ: 1С и отчёты"), "faq-1s-i-otchety");
        assert!(parse_slug("Bad Slug").is_err());
        assert!(parse_slug("ok-slug-1").is_ok());
    }

    #[test]
    fn shipped_articles_parse() {
        for (name, text) in SHIPPED {
            let form = parse_article_file(name, text).unwrap();
            assert!(!form.body.is_empty(), "{name}");
        }
        let err =
            parse_article_file("x.md", "---\ntitle: A\naudience: nobody\n---\nbody").unwrap_err();
        assert!(err.starts_with("x.md:"), "{err}");
        let err = parse_article_file("y.md", "no front matter").unwrap_err();
        assert!(err.starts_with("y.md:1:"), "{err}");
    }
}
