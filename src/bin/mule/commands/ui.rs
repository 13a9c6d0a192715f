//! `mule ui`: the app in the browser, served from this store.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use mule::{report, ui};

use super::Context;
use crate::output::print;

/// `mule ui`'s options.
#[derive(Args)]
pub struct UiArgs {
    /// The port (0: a free one)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The address to listen on
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    listen: IpAddr,
    /// Allow an address other than loopback (other machines can then reach the page; the
    /// secret token is still required)
    #[arg(long)]
    allow_remote: bool,
}

/// Runs `mule ui`: prints the URL, then serves until stopped.
pub fn ui(args: UiArgs, context: &mut Context<'_>) -> Result<ExitCode> {
    let mut replica = context.replica()?;
    let server = ui::Server::bind(&ui::Options {
        listen: SocketAddr::new(args.listen, args.port),
        allow_remote: args.allow_remote,
    })?;
    let url = server.url();
    let text = format!("mule ui: open {url}\n(stop with Ctrl-C)");
    print(context, &report::UiStarted { url }, &text)?;
    context.out.flush()?;
    server.run(&mut replica)?;
    Ok(ExitCode::SUCCESS)
}
