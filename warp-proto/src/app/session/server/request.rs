//! A received request copied out of the endpoint, so that the endpoint can be called while
//! the request is answered (and the request answered again after backpressure).

use alloc::borrow::ToOwned;
use alloc::string::String;

use crate::connection::{LinkId, ServerRequest};
use crate::envelope::Body;
use crate::recon::Text;

/// An owned [`ServerRequest`]: node and lane hold the decoded text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Request {
    /// See [`ServerRequest::Link`].
    Link {
        link: LinkId,
        node: String,
        lane: String,
        sync: bool,
        prio: f32,
        rate: f32,
    },
    /// See [`ServerRequest::Sync`].
    Sync { link: LinkId },
    /// See [`ServerRequest::Unlink`].
    Unlink { link: LinkId },
    /// See [`ServerRequest::Command`].
    Command {
        node: String,
        lane: String,
        body: String,
    },
    /// See [`ServerRequest::Auth`].
    Auth { body: String },
    /// Anything else the connection already answered (`deauth`, a refused link).
    Other,
}

impl Request {
    /// Copies what `request` says.
    pub(crate) fn copy(request: &ServerRequest<'_>) -> Request {
        match request {
            ServerRequest::Link {
                link,
                node,
                lane,
                sync,
                prio,
                rate,
            } => Request::Link {
                link: *link,
                node: node.to_cow().into_owned(),
                lane: lane.to_cow().into_owned(),
                sync: *sync,
                prio: *prio,
                rate: *rate,
            },
            ServerRequest::Sync { link } => Request::Sync { link: *link },
            ServerRequest::Unlink { link } => Request::Unlink { link: *link },
            ServerRequest::Command { node, lane, body } => Request::Command {
                node: node.to_cow().into_owned(),
                lane: lane.to_cow().into_owned(),
                body: body.raw().to_owned(),
            },
            ServerRequest::Auth { body } => Request::Auth {
                body: body.raw().to_owned(),
            },
            _ => Request::Other,
        }
    }

    /// The borrowed form again, for [`Uplinks::handle`](crate::app::Uplinks::handle).
    /// `None` for [`Request::Other`], which needs no answer.
    pub(crate) fn as_server_request(&self) -> Option<ServerRequest<'_>> {
        Some(match self {
            Request::Link {
                link,
                node,
                lane,
                sync,
                prio,
                rate,
            } => ServerRequest::Link {
                link: *link,
                node: Text::plain(node),
                lane: Text::plain(lane),
                sync: *sync,
                prio: *prio,
                rate: *rate,
            },
            Request::Sync { link } => ServerRequest::Sync { link: *link },
            Request::Unlink { link } => ServerRequest::Unlink { link: *link },
            Request::Command { node, lane, body } => ServerRequest::Command {
                node: Text::plain(node),
                lane: Text::plain(lane),
                body: Body::from_raw(body),
            },
            Request::Auth { body } => ServerRequest::Auth {
                body: Body::from_raw(body),
            },
            Request::Other => return None,
        })
    }
}
