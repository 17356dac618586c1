//! Authorization in one place (issue 22): every API operation (read from `/api/openapi.json`)
//! and every page route (read from the page router's source) × every actor × foreign ids.
//! Fails on a route the policy table (`okno_web::authz::ROUTES`) does not name, on a success
//! where `okno_domain::policy` says no, and on a foreign object's data in any success.

use okno_desk::auth::{Origin, TokenRequest};
use okno_desk::contracts::ContractInput;
use okno_desk::kb::ArticleForm;
use okno_desk::tickets::TicketInput;
use okno_desk::{Desk, Settings};
use okno_domain::accounts::TokenScope;
use okno_domain::policy::{self, Actor};
use okno_domain::*;
use okno_store::NewUser;
use okno_store::testing::TestDb;
use okno_web::authz::{Access, ROUTES};
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use std::collections::BTreeSet;

use crate::common;

okno_store::on_both_backends!(every_route_obeys_the_policy);

/// Texts only their owners may read: another organization's ticket and name, someone's
/// draft, token and session, an internal comment, a staff-only article.
const FOREIGN_TICKET: &str = "zq-foreign-ticket";
const FOREIGN_CLIENT: &str = "zq-foreign-client";
const DRAFT: &str = "zq-someones-draft";
const TOKEN: &str = "zq-foreign-token";
const AGENT: &str = "zq-foreign-agent";
const INTERNAL: &str = "zq-internal-note";
const STAFF_ARTICLE: &str = "zq-staff-article";

/// One caller of the walk.
struct Caller {
    name: String,
    actor: Actor,
    token: String,
    /// A browser session (cookie, CSRF token) for the pages; tokens have none.
    session: Option<(String, String)>,
    /// Texts that must never appear in an answer to this caller.
    unseen: Vec<&'static str>,
}

/// The foreign objects the paths name.
struct Foreign {
    ticket: String,
    draft: String,
    task: String,
    token: String,
    user: String,
    contract: String,
    article: String,
}

async fn person(
    desk: &Desk,
    email: &str,
    role: Role,
    client: Option<ClientId>,
    lines: &[u8],
) -> User {
    let id = desk
        .store
        .create_user(&NewUser {
            email: Email::parse(email).unwrap(),
            name: email.into(),
            role,
            client_id: client,
            lines: lines.iter().map(|&n| Line::new(n).unwrap()).collect(),
            sees_organization: false,
            password_hash: None,
        })
        .await
        .unwrap();
    desk.store.user(id).await.unwrap().unwrap()
}

async fn token(desk: &Desk, user: &User, name: &str, scope: TokenScope) -> String {
    desk.issue_token(
        user,
        &TokenRequest {
            name: name.into(),
            scope,
            lifetime: None,
        },
    )
    .await
    .unwrap()
    .secret
}

fn ticket_input(subject: &str, client: Option<&str>, draft: bool) -> TicketInput {
    TicketInput {
        service: "question".into(),
        subject: subject.into(),
        description: format!("{subject}: описание"),
        client: client.map(Into::into),
        requester: None,
        draft,
    }
}

/// The page routes as the router declares them: every `.route("PATH", …)` of the page
/// modules with the methods its handler chain names.
fn page_routes() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pages");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let Some(open) = rest.find('"') else { break };
            let after = &rest[open + 1..];
            let close = after.find('"').unwrap();
            let route = after[..close].to_owned();
            // The handler chain: up to the parenthesis closing `.route(`.
            let mut depth = 1;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let chain = &rest[..end];
            for method in ["get", "post", "put", "delete"] {
                let named = chain.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !chain.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && chain.as_bytes()[i - 1] != b'_'
                });
                if named {
                    routes.insert((method.to_owned(), route.clone()));
                }
            }
            rest = &rest[end..];
        }
    }
    routes
}

/// The values a path parameter takes: foreign ones where the parameter names an object.
fn values(path: &str, param: &str, foreign: &Foreign) -> Vec<String> {
    let before = path
        .split(&format!("/{{{param}}}"))
        .next()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let one = |v: &str| vec![v.to_owned()];
    match (before, param) {
        ("tickets", "id") => vec![foreign.ticket.clone(), foreign.draft.clone()],
        ("tasks", "id") => one(&foreign.task),
        ("tokens", "id") => one(&foreign.token),
        ("users", "id") => one(&foreign.user),
        ("contracts", "id") => one(&foreign.contract),
        ("clients", "code") => one("BETA"),
        (_, "key" | "slug") => one(&foreign.article),
        (_, "code" | "service") => one("question"),
        (_, "name") => one("ru-standard"),
        (_, "feed") => one("nothing.ics"),
        (_, "kind") => one("clients"),
        (_, "month") => one("2026-11"),
        _ => one("1"),
    }
}

/// Every concrete path of a templated one.
fn expand(path: &str, foreign: &Foreign) -> Vec<String> {
    let Some(start) = path.find('{') else {
        return vec![path.to_owned()];
    };
    let end = start + path[start..].find('}').unwrap();
    let param = &path[start + 1..end];
    let mut out = Vec::new();
    for value in values(path, param, foreign) {
        let filled = format!("{}{value}{}", &path[..start], &path[end + 1..]);
        // The rest of the path keeps its own templates (their names stay findable).
        out.extend(expand(&filled, foreign));
    }
    out
}

/// Routes that end the caller's sessions run last, so the walk before them is signed in.
fn ends_sessions(method: &str, path: &str) -> bool {
    matches!(
        (method, path),
        ("delete", "/api/v1/sessions") | ("post", "/logout") | ("post", "/account/sessions/end")
    )
}

async fn every_route_obeys_the_policy(db: TestDb) {
    let files = tempfile::tempdir().unwrap();
    let desk = Desk::start(db.store.clone(), Settings::new(files.path().to_path_buf()))
        .await
        .unwrap();
    let base = common::serve(desk.clone()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The firm: two organizations, the team, a vendor.
    let alfa = desk
        .store
        .create_client("ALFA", "Альфа", Some("alfa.test"))
        .await
        .unwrap();
    let beta = desk
        .store
        .create_client("BETA", FOREIGN_CLIENT, Some("beta.test"))
        .await
        .unwrap();
    let admin = person(&desk, "admin@desk.test", Role::Admin, None, &[]).await;
    let outsider = person(&desk, "contact@beta.test", Role::Client, Some(beta), &[]).await;
    let beta_ticket = desk
        .open_ticket(&outsider, ticket_input(FOREIGN_TICKET, None, false))
        .await
        .unwrap();
    let draft = desk
        .open_ticket(&outsider, ticket_input(DRAFT, None, true))
        .await
        .unwrap();
    let task = desk.ticket_tasks(&admin, beta_ticket.id).await.unwrap();
    let task = task
        .first()
        .expect("the question route gives line 1 a task");
    let foreign_token = desk
        .issue_token(
            &outsider,
            &TokenRequest {
                name: TOKEN.into(),
                scope: TokenScope::Write,
                lifetime: None,
            },
        )
        .await
        .unwrap();
    desk.open_session(
        &outsider,
        &Origin {
            address: "192.0.2.7".into(),
            agent: AGENT.into(),
        },
    )
    .await
    .unwrap();
    let (contract, _) = desk
        .save_contract(
            &admin,
            None,
            ContractInput {
                number: "zq-beta-contract".into(),
                client: "BETA".into(),
                starts_on: "2026-01-01".into(),
                ends_on: "2027-12-31".into(),
                ..ContractInput::default()
            },
        )
        .await
        .unwrap();
    let article = desk
        .create_article(
            &admin,
            ArticleForm {
                slug: Some("zq-staff-article".into()),
                title: STAFF_ARTICLE.into(),
                body: format!("{STAFF_ARTICLE}: только для сотрудников."),
                category: "Внутреннее".into(),
                tags: vec![],
                services: vec![],
                audience: "staff".into(),
                clients: vec![],
                status: "published".into(),
            },
        )
        .await
        .unwrap();
    let foreign = Foreign {
        ticket: beta_ticket.id.0.to_string(),
        draft: draft.id.0.to_string(),
        task: task.id.0.to_string(),
        token: foreign_token.record.id.to_string(),
        user: outsider.id.0.to_string(),
        contract: contract.id.to_string(),
        article: article.slug.clone(),
    };

    // The callers: every kind of person, and an integration's read and write tokens.
    let client = person(&desk, "client@alfa.test", Role::Client, Some(alfa), &[]).await;
    let own = desk
        .open_ticket(&client, ticket_input("Свой вопрос", None, false))
        .await
        .unwrap();
    desk.comment(&admin, own.id, INTERNAL, true).await.unwrap();
    let everyone: &[&'static str] = &[DRAFT, TOKEN, AGENT];
    let outside: &[&'static str] = &[FOREIGN_TICKET, FOREIGN_CLIENT, DRAFT, TOKEN, AGENT];
    let people = [
        (
            "client",
            client,
            [outside, &[INTERNAL, STAFF_ARTICLE]].concat(),
        ),
        (
            "line1",
            person(&desk, "line1@desk.test", Role::Specialist, None, &[1]).await,
            everyone.to_vec(),
        ),
        (
            "line2",
            person(&desk, "line2@desk.test", Role::Specialist, None, &[2]).await,
            everyone.to_vec(),
        ),
        (
            "line3",
            person(&desk, "line3@desk.test", Role::Specialist, None, &[3]).await,
            everyone.to_vec(),
        ),
        (
            "vendor",
            person(&desk, "support@vendor.test", Role::Specialist, None, &[4]).await,
            outside.to_vec(),
        ),
        (
            "manager",
            person(&desk, "manager@desk.test", Role::Manager, None, &[]).await,
            everyone.to_vec(),
        ),
        ("admin", admin.clone(), everyone.to_vec()),
    ];
    let mut callers = Vec::new();
    for (name, user, unseen) in people {
        let session = desk.open_session(&user, &Origin::default()).await.unwrap();
        callers.push(Caller {
            name: name.into(),
            actor: Actor::person(&user),
            token: token(&desk, &user, "walk", TokenScope::Write).await,
            session: Some((session.cookie, session.csrf)),
            unseen,
        });
    }
    for scope in [TokenScope::Read, TokenScope::Write] {
        let integration = person(
            &desk,
            &format!("{}@integration.test", scope.as_str()),
            Role::Admin,
            None,
            &[],
        )
        .await;
        callers.push(Caller {
            name: format!("{}-token", scope.as_str()),
            actor: Actor::token(&integration, scope),
            token: token(&desk, &integration, "integration", scope).await,
            session: None,
            unseen: everyone.to_vec(),
        });
    }

    // The routes: the OpenAPI document's operations and the page router's routes, each
    // named in the policy table; and nothing in the table that the server does not answer.
    let doc: Value = http
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut api = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                api.insert((method.clone(), path.clone()));
            }
        }
    }
    let pages = page_routes();
    assert!(
        api.len() > 100 && pages.len() > 60,
        "{} {}",
        api.len(),
        pages.len()
    );
    let mut problems = Vec::new();
    for (method, path) in api.iter().chain(&pages) {
        if okno_web::authz::access(method, path).is_none() {
            problems.push(format!("{method} {path}: not in okno_web::authz::ROUTES"));
        }
    }
    for (method, path, access) in ROUTES {
        // A `read` token may call every GET its owner may, and nothing else: an API GET must
        // be an action that changes nothing, any other method one that may. (Pages take no
        // tokens: a form's page shows under the action it submits.)
        if let Access::Signed(action) = access
            && path.starts_with("/api/")
            && (*method == "get") == action.writes()
        {
            problems.push(format!(
                "{method} {path}: {action:?} (writes: {}) does not fit the method",
                action.writes()
            ));
        }
        let key = (method.to_string(), path.to_string());
        if !api.contains(&key) && !pages.contains(&key) {
            problems.push(format!("{method} {path}: in the table, but no such route"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The walk.
    let mut routes: Vec<(String, String, bool)> = api
        .iter()
        .map(|(m, p)| (m.clone(), p.clone(), true))
        .chain(pages.iter().map(|(m, p)| (m.clone(), p.clone(), false)))
        .collect();
    routes.sort_by_key(|(m, p, _)| ends_sessions(m, p));
    let (mut calls, mut denied_checked, mut variants) = (0usize, 0usize, 0usize);
    for (method, path, is_api) in &routes {
        let access = okno_web::authz::access(method, path).unwrap();
        let concrete = expand(path, &foreign);
        variants += concrete.len();
        for caller in &callers {
            if !is_api && caller.session.is_none() {
                continue;
            }
            let expected = match access {
                Access::Public => true,
                Access::Signed(action) => policy::allows(caller.actor, action),
            };
            for url in &concrete {
                let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut request = http.request(verb.clone(), format!("{base}{url}"));
                if *is_api {
                    request = request.bearer_auth(&caller.token);
                    if verb == Method::POST || verb == Method::PUT {
                        request = request
                            .header(header::CONTENT_TYPE, "application/json")
                            .body("{}");
                    }
                } else {
                    let (cookie, csrf) = caller.session.as_ref().unwrap();
                    request = request
                        .header(header::COOKIE, format!("okno_session={cookie}"))
                        .header(header::ORIGIN, &base);
                    if verb == Method::POST {
                        request = request
                            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                            .body(format!("csrf={csrf}"));
                    }
                }
                let response = request.send().await.unwrap();
                calls += 1;
                let status = response.status();
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let body = response.text().await.unwrap_or_default();
                let done = status.is_success()
                    || (!is_api
                        && verb == Method::POST
                        && status.is_redirection()
                        && !location.starts_with("/login"));
                let at = format!("{} {method} {url}", caller.name);
                if !expected {
                    denied_checked += 1;
                    if done {
                        problems.push(format!(
                            "{at}: {status} although the policy refuses ({access:?})"
                        ));
                    }
                }
                let signed_out = status == StatusCode::UNAUTHORIZED
                    || (!is_api && location.starts_with("/login"));
                if signed_out && access != Access::Public && !ends_sessions(method, path) {
                    problems.push(format!("{at}: not signed in ({status})"));
                }
                if status.is_server_error() {
                    problems.push(format!("{at}: {status}"));
                }
                if done {
                    for text in &caller.unseen {
                        if body.contains(text) {
                            problems.push(format!("{at}: {status} shows {text}"));
                        }
                    }
                }
            }
        }
    }
    println!(
        "authorization walk: {} operations ({} API, {} pages) × {} callers × foreign ids \
         ({variants} paths) = {calls} calls, {denied_checked} of them refusals checked",
        routes.len(),
        api.len(),
        pages.len(),
        callers.len(),
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
