//! A notes server with viewer / editor / admin roles and scoped tools, resources and prompts:
//! `cargo run --example rbac`.
//!
//! - roles: `admin` ⊃ `editor` ⊃ `viewer`;
//! - scopes: `notes:admin` ⊃ `notes:write` ⊃ `notes:read`.
//!
//! Each tool, resource and prompt says what it needs; the layer answers a scope shortfall with
//! a 403 step-up naming the scopes, the handler hides what a caller's role does not allow, and
//! every list shows only what the caller may use. Prints one API key per demo user.

use std::{collections::BTreeMap, sync::Arc};

use mcp_auth::prelude::*;
use mcp_auth::rmcp::{
    ErrorData, Json,
    handler::server::wrapper::Parameters,
    model::{PromptMessage, Role as Speaker},
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

mcp_auth::roles! {
    /// Who may do what in the notes app.
    pub enum Role { Admin > Editor > Viewer }
}

mcp_auth::scopes! {
    /// What a token may be used for.
    pub enum Scope { "notes:admin" > "notes:write" > "notes:read" }
}

/// One note.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    /// Its id.
    pub id: u64,
    /// Its text.
    pub text: String,
    /// Who wrote it.
    pub author: String,
}

/// The answer of `list_notes` (MCP output schemas are objects).
#[derive(Serialize, JsonSchema)]
pub struct NoteList {
    /// Every note.
    pub notes: Vec<Note>,
}

/// Arguments of `create_note`.
#[derive(Deserialize, JsonSchema)]
pub struct CreateArgs {
    /// The text of the note.
    pub text: String,
}

/// Arguments naming a note.
#[derive(Deserialize, JsonSchema)]
pub struct IdArgs {
    /// The note's id.
    pub id: u64,
}

/// Arguments of the `summarize` prompt (MCP prompt arguments are strings).
#[derive(Deserialize, JsonSchema)]
pub struct SummarizeArgs {
    /// How many sentences.
    pub sentences: Option<String>,
}

/// The notes store, shared by every request.
#[derive(Clone, Default)]
pub struct Notes {
    store: Arc<RwLock<BTreeMap<u64, Note>>>,
}

impl Notes {
    /// A store with two notes.
    pub fn seeded() -> Self {
        let mut map = BTreeMap::new();
        for (id, text) in [(1, "Buy milk"), (2, "Ship mcp-auth")] {
            map.insert(
                id,
                Note {
                    id,
                    text: text.into(),
                    author: "seed".into(),
                },
            );
        }
        Self {
            store: Arc::new(RwLock::new(map)),
        }
    }
}

#[mcp_auth::server(name = "notes", roles = Role, scopes = Scope)]
impl Notes {
    /// Who am I? Open to any authenticated caller.
    #[tool]
    async fn whoami(&self, who: AccessToken) -> String {
        format!(
            "{} roles=[{}] scopes=[{}]",
            who.subject().unwrap_or("-"),
            who.roles().join(" "),
            who.scopes().join(" ")
        )
    }

    /// List every note.
    #[tool(scopes = ["notes:read"], annotations(read_only_hint = true))]
    async fn list_notes(&self) -> Json<NoteList> {
        Json(NoteList {
            notes: self.store.read().await.values().cloned().collect(),
        })
    }

    /// Write a new note.
    #[tool(scopes = ["notes:write"], roles = ["editor"])]
    async fn create_note(
        &self,
        Parameters(args): Parameters<CreateArgs>,
        who: AccessToken,
    ) -> Json<Note> {
        let mut store = self.store.write().await;
        let id = store.keys().next_back().map_or(1, |k| k + 1);
        let note = Note {
            id,
            text: args.text,
            author: who.subject().unwrap_or("-").to_owned(),
        };
        store.insert(id, note.clone());
        Json(note)
    }

    /// Delete a note.
    #[tool(scopes = ["notes:write"], roles = ["admin"], annotations(destructive_hint = true))]
    async fn delete_note(&self, Parameters(args): Parameters<IdArgs>) -> Result<String, ErrorData> {
        match self.store.write().await.remove(&args.id) {
            Some(_) => Ok(format!("deleted {}", args.id)),
            None => Err(ErrorData::invalid_params("no such note", None)),
        }
    }

    /// Delete every note.
    #[tool(scopes = ["notes:admin"], roles = ["admin"])]
    async fn purge(&self) -> String {
        let mut store = self.store.write().await;
        let n = store.len();
        store.clear();
        format!("purged {n}")
    }

    /// The ids of all notes.
    #[resource(uri = "notes://index", mime_type = "application/json", scopes = ["notes:read"])]
    async fn index(&self) -> Json<Vec<u64>> {
        Json(self.store.read().await.keys().copied().collect())
    }

    /// One note, as text.
    #[resource(uri = "notes://note/{id}", scopes = ["notes:read"], roles = ["viewer"])]
    async fn note(&self, id: String) -> Result<String, ErrorData> {
        let id: u64 = id
            .parse()
            .map_err(|_| ErrorData::invalid_params("a note id is a number", None))?;
        self.store
            .read()
            .await
            .get(&id)
            .map(|n| n.text.clone())
            .ok_or_else(|| ErrorData::resource_not_found("no such note", None))
    }

    /// Who wrote what: for admins.
    #[resource(uri = "notes://audit", roles = ["admin"])]
    async fn audit(&self) -> String {
        let store = self.store.read().await;
        store
            .values()
            .map(|n| format!("{} by {}\n", n.id, n.author))
            .collect()
    }

    /// Summarize the notes.
    #[prompt(scopes = ["notes:read"], roles = ["viewer"])]
    async fn summarize(&self, Parameters(args): Parameters<SummarizeArgs>) -> Vec<PromptMessage> {
        let notes: Vec<String> = self
            .store
            .read()
            .await
            .values()
            .map(|n| n.text.clone())
            .collect();
        vec![PromptMessage::new_text(
            Speaker::User,
            format!(
                "Summarize in {} sentences: {}",
                args.sentences.as_deref().unwrap_or("2"),
                notes.join("; ")
            ),
        )]
    }

    /// Review notes for deletion.
    #[prompt(scopes = ["notes:write"], roles = ["editor"])]
    async fn review(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Speaker::User,
            "Which notes are obsolete?",
        )]
    }
}

/// The demo users: (name, role, scopes).
pub const USERS: [(&str, &str, &[&str]); 4] = [
    ("admin", "admin", &["mcp", "notes:admin"]),
    ("editor", "editor", &["mcp", "notes:write"]),
    ("reader", "editor", &["mcp", "notes:read"]),
    ("viewer", "viewer", &["mcp", "notes:read"]),
];

#[allow(dead_code)] // the rbac tests include this file for `Notes`, not for `main`.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("MCP_ADDR").unwrap_or_else(|_| "127.0.0.1:8001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let resource = format!("http://{local}/mcp");

    // The embedded dev issuer plays the identity provider; see the quickstart.
    let dev = mcp_auth::DevIssuer::start().await?;
    println!(
        "rbac notes server at {resource} (issuer {})\n",
        dev.issuer()
    );
    for (name, role, scopes) in USERS {
        let user = mcp_auth::DevUser::new(format!("{name}@example.com"))
            .audience(&resource)
            .scopes(scopes.iter().copied())
            .roles([role]);
        println!(
            "{name} (role {role}, scopes {}):\n{}\n",
            scopes.join(" "),
            dev.mint(&user)
        );
    }
    println!(
        "the viewer does not see create_note and calling it answers \"tool not found\" (a role\n\
         OAuth cannot grant); the reader (an editor holding only notes:read) does not see it\n\
         either, and calling it answers 403 with scope=\"notes:write\": a step-up its client\n\
         can ask the authorization server for\n"
    );

    AuthServer::new(Notes::seeded())
        .verifier(dev.verifier(&resource).build()?)
        .resource(&resource)
        .authorization_server(dev.issuer())
        .required_scopes(["mcp"])
        .serve_with_listener(listener)
        .await?;
    Ok(())
}
