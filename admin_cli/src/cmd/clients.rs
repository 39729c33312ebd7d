//! `twofoldctl clients ...`: the OpenID Connect clients (relying parties).

use crate::cli::ClientsCmd;
use crate::client::Client;
use crate::error::CtlError;
use crate::output::{Out, field, list_of, str_of, table};
use serde_json::{Value, json};

/// Runs a `clients` subcommand.
pub fn run(c: &Client, out: Out, cmd: &ClientsCmd) -> Result<(), CtlError> {
    match cmd {
        ClientsCmd::List => {
            let d = c.call("clients.list", json!({}))?;
            out.emit(&d, || print_list(&d));
        }
        ClientsCmd::Add {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            name,
            public,
            grant_types,
        } => {
            let d = c.call(
                "clients.add",
                json!({
                    "client_id": client_id,
                    "redirect_uris": redirect_uris,
                    "post_logout_redirect_uris": post_logout_redirect_uris,
                    "name": name,
                    "public": public,
                    "grant_types": grant_types,
                }),
            )?;
            out.emit(&d, || print_added(&d));
        }
        ClientsCmd::Remove { client_id, yes } => remove(c, out, client_id, *yes)?,
    }
    Ok(())
}

fn remove(c: &Client, out: Out, id: &str, yes: bool) -> Result<(), CtlError> {
    if !yes {
        let plan = format!("this removes client {id:?} from the store and revokes its tokens");
        super::confirm(out, &plan, "Remove the client now?")?;
    }
    let d = c.call(
        "clients.remove",
        json!({ "client_id": id, "confirm": true }),
    )?;
    out.emit(&d, || {
        println!(
            "client {} removed; its tokens are revoked",
            field(&d, "client_id")
        );
    });
    Ok(())
}

/// `public` or `confidential`.
fn kind(c: &Value) -> &'static str {
    if c.get("public").and_then(Value::as_bool).unwrap_or(false) {
        "public"
    } else {
        "confidential"
    }
}

/// A list of strings, comma-separated (`-` when empty).
fn joined(c: &Value, key: &str) -> String {
    let v: Vec<&str> = list_of(c, key).iter().filter_map(Value::as_str).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn print_list(d: &Value) {
    let clients = list_of(d, "clients");
    if clients.is_empty() {
        println!("no clients registered");
        return;
    }
    println!(
        "{}",
        table(
            &[
                "CLIENT ID",
                "NAME",
                "TYPE",
                "FROM",
                "REDIRECT URIS",
                "GRANT TYPES"
            ],
            clients.iter().map(|c| {
                vec![
                    field(c, "client_id"),
                    field(c, "name"),
                    kind(c).to_string(),
                    field(c, "source"),
                    joined(c, "redirect_uris"),
                    joined(c, "grant_types"),
                ]
            })
        )
    );
}

fn print_added(d: &Value) {
    println!(
        "client {} registered ({}); redirect URIs: {}; grant types: {}",
        field(d, "client_id"),
        kind(d),
        joined(d, "redirect_uris"),
        joined(d, "grant_types")
    );
    let secret = str_of(d, "client_secret");
    if !secret.is_empty() {
        println!("client secret: {secret}");
        println!("This secret is shown only now and will not be shown again: store it safely.");
    }
}
